/**
 * Would Fastify's schema-based serializer (fast-json-stringify, from the API document's response
 * schemas) speed up the hottest routes? Side by side, in alternating rounds, with autocannon in a
 * process of its own:
 *  - the app: the cached product list, from two instances of the real app in this process, one
 *    with the documented 200 schema set as the route's Fastify response schema (@RouteSchema);
 *  - bare Fastify answering the same bodies (a page of 12, a claim's 202), with and without it:
 *    the most serialization can weigh.
 * Every pair of bodies must be byte-identical, or the comparison is void.
 *
 *   PICK_TEST_DB=… node --import @swc-node/register/esm-register perf/bench/serialization.ts
 *   (against a migrated test database, e.g. after `npm test`)
 */
import { FASTIFY_ROUTE_SCHEMA_METADATA } from '@nestjs/platform-fastify/constants.js';
import Fastify from 'fastify';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { ProductsController } from '../../src/catalog/catalog.controller.js';
import { mint } from '../../src/testing/fixtures.js';
import { MemberRole } from '../../src/members/member.entity.js';
import { startTestApp } from '../../src/testing/app.js';
import { testEnv } from '../../src/testing/test-env.js';

type Schema = Record<string, any>;
const root = new URL('../..', import.meta.url).pathname;
const document = JSON.parse(readFileSync(`${root}src/openapi/openapi.json`, 'utf8')) as Schema;
const rounds = Number(process.env.ROUNDS ?? 3);
const seconds = String(process.env.SECONDS ?? 5);

function deref(node: any): any {
  if (Array.isArray(node)) return node.map(deref);
  if (!node || typeof node !== 'object') return node;
  if (typeof node.$ref === 'string') return deref(document.components.schemas[node.$ref.split('/').pop()]);
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key]) => key !== 'example')
      .map(([key, value]) => [key, deref(value)]),
  );
}
const success = (path: string, method: string, status: number) =>
  deref(document.paths[path][method].responses[status].content['application/json'].schema);

/** Requests per second of `url`, measured by autocannon in a child process (not competing with the servers' event loop). */
async function load(url: string): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    `${root}node_modules/autocannon/autocannon.js`,
    '-c',
    '50',
    '-d',
    seconds,
    '-j',
    url,
  ]);
  return (JSON.parse(stdout) as { requests: { average: number } }).requests.average;
}

async function compare(name: string, plainUrl: string, schemaUrl: string): Promise<void> {
  const [a, b] = await Promise.all([fetch(plainUrl).then((r) => r.text()), fetch(schemaUrl).then((r) => r.text())]);
  if (a !== b) throw new Error(`${name}: the schema serializer changes the body:\n${a}\n${b}`);
  const rates = { plain: [] as number[], schema: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    rates.plain.push(await load(plainUrl));
    rates.schema.push(await load(schemaUrl));
  }
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
  const [plain, schema] = [median(rates.plain), median(rates.schema)];
  console.log(
    `${name}: identical bodies (${a.length} bytes); JSON.stringify ${Math.round(plain)} req/s, schema ${Math.round(schema)} req/s (${(schema / plain).toFixed(2)}×)`,
  );
}

async function bare(withSchema: boolean, routes: { path: string; status: number; body: unknown; schema: Schema }[]) {
  const app = Fastify({ logger: false });
  for (const route of routes) {
    app.get(
      route.path,
      withSchema ? { schema: { response: { [route.status]: route.schema } } } : {},
      async (_request, reply) => {
        void reply.status(route.status);
        return route.body;
      },
    );
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return { app, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

Object.assign(process.env, testEnv(), { LOG_LEVEL: 'error' });
const listSchema = success('/api/general/products', 'get', 200);
const plainApp = await startTestApp();
Reflect.defineMetadata(
  FASTIFY_ROUTE_SCHEMA_METADATA,
  { response: { 200: listSchema } },
  ProductsController.prototype.list,
);
const schemaApp = await startTestApp();
Reflect.deleteMetadata(FASTIFY_ROUTE_SCHEMA_METADATA, ProductsController.prototype.list);
// A full page to serialize: 12 products by a fresh seller when the database has fewer.
if ((await plainApp.http.get('/api/general/products')).body.items.length < 12) {
  const [seller] = await mint(plainApp.config, 1, MemberRole.SELLER);
  for (let index = 0; index < 12; index++) {
    const product = {
      name: `Bench linen shirt ${index}`,
      price: 10_000 + index * 1_500,
      description: 'bench',
      stock: 10,
      category: 'TOP',
      status: 'IN_STOCK',
    };
    await plainApp.http.post('/api/seller/products', product, seller.accessToken);
  }
}
const page = await (await fetch(`${plainApp.url}/api/general/products`)).json();
const routes = [
  { path: '/list', status: 200, body: page, schema: listSchema },
  {
    path: '/claim',
    status: 202,
    body: { status: 'PENDING' },
    schema: success('/api/events/{eventId}/coupons/{couponId}/issue', 'post', 202),
  },
];
const [plainBare, schemaBare] = [await bare(false, routes), await bare(true, routes)];
try {
  await compare('app: cached list', `${plainApp.url}/api/general/products`, `${schemaApp.url}/api/general/products`);
  await compare('bare Fastify: list page', `${plainBare.url}/list`, `${schemaBare.url}/list`);
  await compare('bare Fastify: claim 202', `${plainBare.url}/claim`, `${schemaBare.url}/claim`);
} finally {
  await Promise.all([plainApp.close(), schemaApp.close(), plainBare.app.close(), schemaBare.app.close()]);
}
