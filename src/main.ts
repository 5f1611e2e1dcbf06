// The entry point PM2, the image and `npm start` run. No import or export statement and no syntax
// newer than ES2015 here, so that any Node parses this file (Node 10, Ubuntu 20.04's, reads a .js
// as CommonJS whatever package.json says; 12 and later as an ES module): an older machine Node gets
// this message instead of a SyntaxError from a module it cannot read. The CLIs check the same floor
// with config/env.ts's assertNodeVersion; main.e2e.ts checks both messages agree.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 17)) {
  console.error(
    `Pick needs Node >= 22.17 (24 LTS recommended); this is ${process.versions.node}. Run it through the npm scripts, which use the project's Node 24.`,
  );
  process.exit(1);
}
void import('./serve.js');
