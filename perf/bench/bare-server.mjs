/**
 * The machine's ceiling for the catalog benchmark: a bare `node:http` cluster (node:cluster, the
 * same round-robin PM2's cluster mode uses) of the same worker count as Pick's, answering each list
 * path with the very bytes Pick's cached page answered. Whatever Pick spends beyond this is
 * framework, routing, validation, cache lookup, headers and metrics.
 *
 *   node perf/bench/bare-server.mjs PORT WORKERS PAGES_JSON
 *
 * Plain JavaScript on purpose: nothing between node:http and the bytes (no TypeScript loader).
 *
 * PAGES_JSON: a file holding `{ "<path with query>": "<response body>" }`. Unknown paths get 404.
 * The primary prints "ready" once every worker listens, and stops its workers on SIGTERM/SIGINT.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { runPrimary } from './bare-primary.mjs';

const [portArg, workersArg, pagesFile] = process.argv.slice(2);
const port = Number(portArg);
const workers = Number(workersArg);

if (cluster.isPrimary) {
  if (!port || !workers || !pagesFile) throw new Error('usage: bare-server.mjs PORT WORKERS PAGES_JSON');
  runPrimary(workers);
} else {
  const pages = new Map(
    Object.entries(JSON.parse(readFileSync(pagesFile, 'utf8'))).map(([path, body]) => [path, Buffer.from(body)]),
  );
  createServer((request, response) => {
    const body = pages.get(request.url ?? '');
    if (!body) {
      response.writeHead(404).end();
      return;
    }
    response
      .writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length })
      .end(body);
  }).listen(port, '127.0.0.1');
}
