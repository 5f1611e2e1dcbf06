// Exits 1, naming them, when native packages this machine needs are missing from node_modules: the
// platform-specific optional packages of package-lock.json that fit this OS, CPU and libc. An old
// npm (Debian 12's npm 9.2 on its Node 18) skipped @rolldown/binding-linux-x64-gnu, which vitest
// needs, without a word; `npm run up` then installs again with a pinned npm (deploy/local/up.sh).
import { existsSync, readFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const libc = process.report.getReport().header.glibcVersionRuntime ? 'glibc' : 'musl';
// npm's rule: a list allows a value it names, and forbids one it names with "!".
const fits = (list, value) => {
  if (!list) return true;
  if (list.includes(`!${value}`)) return false;
  const allowed = list.filter((item) => !item.startsWith('!'));
  return allowed.length === 0 || allowed.includes(value);
};
const missing = Object.entries(lock.packages ?? {})
  .filter(([path, entry]) => path !== '' && entry.optional && (entry.os || entry.cpu || entry.libc))
  .filter(([, entry]) => fits(entry.os, process.platform) && fits(entry.cpu, process.arch))
  .filter(([, entry]) => process.platform !== 'linux' || fits(entry.libc, libc))
  .filter(([path]) => !existsSync(`${path}/package.json`))
  .map(([path]) => path.replace(/^.*node_modules\//, ''));
if (missing.length > 0) {
  console.error(
    `check-install: missing native packages for ${process.platform}-${process.arch} (${libc}): ${missing.join(', ')}`,
  );
  process.exit(1);
}
