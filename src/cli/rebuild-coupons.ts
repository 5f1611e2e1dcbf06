/**
 * Restores coupons' Redis claim state from MySQL plus the pending claims (after Redis data loss):
 *   npm run rebuild-coupons                 every coupon of a running or upcoming event, if missing
 *   npm run rebuild-coupons -- --coupon 7   that coupon (repeatable)
 *   --force                                 re-read the limit from MySQL even if the state exists
 * Members are only ever added to a coupon's claimed set, so a rebuild never lets anyone claim twice.
 */
import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/mysql';
import { Redis } from 'ioredis';
import { parseArgs } from 'node:util';
import { assertNodeVersion, loadConfig } from '../../config/env.js';
import { ormOptions } from '../../config/mikro-orm.js';
import { Coupon } from '../coupons/coupon.entity.js';
import { CouponStock, type RebuildOutcome } from '../coupons/coupon-stock.js';
import { redisOptions } from '../redis/redis-options.js';
import { exitOnConfigError } from './cli-support.js';

async function main(): Promise<void> {
  assertNodeVersion();
  const config = loadConfig();
  const { values } = parseArgs({
    options: { coupon: { type: 'string', multiple: true }, force: { type: 'boolean', default: false } },
  });
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
    const outcomes: RebuildOutcome[] = [];
    for (const id of ids) outcomes.push(await stock.rebuild(id, { force: values.force }));
    console.log(JSON.stringify(outcomes));
  } finally {
    await orm.close(true);
    await redis.quit();
  }
}

main().catch(exitOnConfigError);
