import { cacheEvictions } from '../cache/cache.metrics.js';
import type { HttpClient } from './http.js';
import { counterValue } from './metrics.js';
import { until } from './poll.js';

/** Product cache evictions by broadcast, over every worker in this process. */
export const productBroadcastEvictions = (): Promise<number> =>
  counterValue(cacheEvictions, { cache: 'product', reason: 'broadcast' });

/**
 * Creates a product as `sellerToken` and waits until `workers` in-process workers have had the
 * write's broadcast: that echo evicts again, so a read cached before it arrives would be dropped
 * under the test.
 */
export async function createProductBroadcast(
  http: HttpClient,
  sellerToken: string,
  product: { name: string; price: number; category: string },
  workers = 1,
): Promise<string> {
  const before = await productBroadcastEvictions();
  const res = await http.post(
    '/api/seller/products',
    { ...product, description: 'd', stock: 5, status: 'IN_STOCK' },
    sellerToken,
  );
  if (res.status !== 201) throw new Error(`product create: ${res.status} ${JSON.stringify(res.body)}`);
  await untilProductBroadcast(before, workers);
  return res.body.id as string;
}

/** Waits (5 s at most) until `workers` more product broadcast evictions than `before` were counted. */
export async function untilProductBroadcast(before: number, workers = 1): Promise<void> {
  await until(
    `broadcast on ${workers} worker(s)`,
    async () => (await productBroadcastEvictions()) - before,
    (n) => n >= workers,
    5000,
    10,
  );
}
