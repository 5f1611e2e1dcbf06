/**
 * Brings coupons' Redis claim state up to MySQL, e.g. after restoring Redis from a backup:
 *   npm run rebuild-coupons                 every coupon of a running or upcoming event
 *   npm run rebuild-coupons -- --coupon 7   that coupon (repeatable)
 * Every member with a row (or a pending claim) goes back into the coupon's issued set, and a state
 * missing or stamped by another Redis server gets MySQL's limit: the issued count is never lowered,
 * so nobody can claim twice and the stock is never issued past. The running app does the same by
 * itself (at every reconnection, before any claim on a state it has not reconciled, and every
 * COUPON_RECONCILE_INTERVAL_MS); this command is for an operator who wants it done, and reported, now.
 * Prints one line per coupon saying what changed, then the outcomes as one JSON line.
 */
import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/mysql';
import { Redis } from 'ioredis';
import { parseArgs } from 'node:util';
import { assertNodeVersion, loadConfig } from '../../config/env.js';
import { ormOptions } from '../../config/mikro-orm.js';
import { Coupon } from '../coupons/coupon.entity.js';
import { CouponStock, type ReconcileOutcome } from '../coupons/coupon-stock.js';
import { redisOptions } from '../redis/redis-options.js';
import { exitOnConfigError } from './cli-support.js';

function describeOutcome(outcome: ReconcileOutcome): string {
  const { couponId, stale, restored, issued, rows, max, tookMs } = outcome;
  const figures = `issued ${issued}, rows ${rows}, max ${max}; ${tookMs} ms`;
  if (restored > 0)
    return `coupon ${couponId}: Redis was behind MySQL: ${restored} members put back in the issued set (${figures})`;
  if (stale) return `coupon ${couponId}: state restamped for this Redis server, nothing missing (${figures})`;
  return `coupon ${couponId}: already up to MySQL, nothing changed (${figures})`;
}

async function main(): Promise<void> {
  assertNodeVersion();
  const config = loadConfig();
  const { values } = parseArgs({
    options: { coupon: { type: 'string', multiple: true }, force: { type: 'boolean', default: false } },
  });
  if (values.force)
    console.error('rebuild-coupons: --force is no longer needed: every coupon is brought up to MySQL by default');
  const orm = await MikroORM.init(ormOptions(config));
  const redis = new Redis({ ...redisOptions(config), maxRetriesPerRequest: 3 });
  const stock = new CouponStock(redis, orm.em, config);
  try {
    let ids = values.coupon ?? [];
    if (ids.length === 0) {
      const now = new Date();
      const coupons = await orm.em
        .fork()
        .find(Coupon, { validUntil: { $gt: now }, event: { endsAt: { $gt: now } } }, { fields: ['id'] });
      ids = coupons.map((coupon) => String(coupon.id));
    }
    const outcomes: ReconcileOutcome[] = [];
    for (const id of ids) {
      const outcome = await stock.reconcile(id, { always: true });
      outcomes.push(outcome);
      console.error(describeOutcome(outcome));
    }
    if (ids.length === 0) console.error('rebuild-coupons: no running or upcoming coupon');
    console.log(JSON.stringify(outcomes));
  } finally {
    await orm.close(true);
    await redis.quit();
  }
}

main().catch(exitOnConfigError);
