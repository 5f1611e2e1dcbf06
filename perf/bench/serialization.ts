/**
 * Would Fastify's schema-based serializer (fast-json-stringify, from the API document's response
 * schemas) speed up the two hottest routes? Two bare Fastify servers answer the same bodies (a
 * cached product page of 12 items, a claim's 202), one with the documented response schema and one
 * with plain JSON.stringify; they are loaded side by side in alternating rounds. The bodies must be
 * byte-identical, or the comparison is void.
 *
 *   node --import @swc-node/register/esm-register perf/bench/serialization.ts
 */
import Fastify from 'fastify';
import { readFileSync } from 'node:fs';
import { runLoad } from './support.js';

type Schema = Record<string, any>;
const document = JSON.parse(readFileSync(new URL('../../src/openapi/openapi.json', import.meta.url), 'utf8')) as Schema;

function deref(node: any): any {
  if (Array.isArray(node)) return node.map(deref);
  if (!node || typeof node !== 'object') return node;
  if (typeof node.$ref === 'string') return deref(document.components.schemas[node.$ref.split('/').pop()]);
  return Object.fromEntries(Object.entries(node).filter(([key]) => key !== 'example').map(([key, value]) => [key, deref(value)]));
}

const page = {
  items: Array.from({ length: 12 }, (_, index) => ({
    id: String(200 - index),
    name: `Product ${200 - index} linen shirt`,
    price: 10_000 + index * 1_500,
    imageUrl: index % 4 === 0 ? null : `http://127.0.0.1:4188/pick/product/0b6f4c1e-3d5a-4f0e-9a51-2c7d8e9f0a1${index}.jpg?w=400`,
  })),
  next: { lastId: '189', lastPrice: 26_500 },
};
const routes = [
  { name: 'cached list', path: '/list', body: page, schema: document.paths['/api/general/products'].get.responses['200'].content['application/json'].schema, status: 200 },
  {
    name: 'claim 202',
    path: '/claim',
    body: { status: 'PENDING' },
    schema: document.paths['/api/events/{eventId}/coupons/{couponId}/issue'].post.responses['202'].content['application/json'].schema,
    status: 202,
  },
];

async function server(withSchema: boolean) {
  const app = Fastify({ logger: false });
  for (const route of routes) {
    app.get(route.path, withSchema ? { schema: { response: { [route.status]: deref(route.schema) } } } : {}, async (_request, reply) => {
      void reply.status(route.status);
      return route.body;
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return { app, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

const plain = await server(false);
const schema = await server(true);
const rounds = Number(process.env.ROUNDS ?? 3);
const seconds = Number(process.env.SECONDS ?? 5);
try {
  for (const route of routes) {
    const [a, b] = await Promise.all([fetch(plain.url + route.path).then((r) => r.text()), fetch(schema.url + route.path).then((r) => r.text())]);
    if (a !== b) throw new Error(`${route.name}: the schema serializer changes the body:\n${a}\n${b}`);
    const rates: Record<'plain' | 'schema', number[]> = { plain: [], schema: [] };
    for (let round = 0; round < rounds; round++) {
      for (const [label, target] of [['plain', plain], ['schema', schema]] as const) {
        const result = await runLoad({ url: target.url + route.path, connections: 50, duration: seconds });
        rates[label].push(result.reqPerSec);
      }
    }
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
    const ratio = median(rates.schema) / median(rates.plain);
    console.log(`${route.name}: identical bodies; JSON.stringify ${Math.round(median(rates.plain))} req/s, schema serializer ${Math.round(median(rates.schema))} req/s (${ratio.toFixed(2)}×)`);
  }
} finally {
  await plain.app.close();
  await schema.app.close();
}
