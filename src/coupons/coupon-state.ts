import type { EntityManager } from '@mikro-orm/mysql';
import { randomUUID } from 'node:crypto';
import { AppError } from '../common/errors.js';
import { couponKeys, type ClaimRedis } from './claim-scripts.js';
import { Coupon } from './coupon.entity.js';
import { MemberCoupon } from './member-coupon.entity.js';

const LOCK_MS = 15_000;
const WAIT_FOR_OTHER_MS = 5_000;

export interface RebuildOutcome {
  couponId: string;
  /** false: the state was already there (or another worker just rebuilt it) */
  rebuilt: boolean;
  issued: number;
  max: number;
}

/**
 * (Re)builds one coupon's Redis state from MySQL plus the pending claims, under a per-coupon
 * lock so concurrent callers (many claims at once, the sweeper, the CLI) rebuild it once.
 * Used by the claim path when the state is missing, by the sweeper for active coupons and by
 * `npm run rebuild-coupons`. `em` must be a forked context.
 *
 * Order matters: pending marks are read before MySQL's rows, because a processor inserts the
 * row first and clears the mark after. A claim persisted in between is then in one of the two.
 */
export async function rebuildCouponState(redis: ClaimRedis, em: EntityManager, prefix: string, couponId: string, options: { force?: boolean } = {}): Promise<RebuildOutcome> {
  const keys = couponKeys(prefix, couponId);
  const token = randomUUID();
  const deadline = Date.now() + WAIT_FOR_OTHER_MS;
  while ((await redis.set(keys.rebuildLock, token, 'PX', LOCK_MS, 'NX')) !== 'OK') {
    // Someone else is rebuilding: wait for the state rather than deciding without it.
    if (!options.force && (await redis.exists(keys.state)) === 1) {
      return { couponId, rebuilt: false, issued: await redis.scard(keys.members), max: Number(await redis.hget(keys.state, 'max')) };
    }
    if (Date.now() > deadline) throw new AppError('SERVICE_UNAVAILABLE', 'The coupon is being restored; retry shortly');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  try {
    const coupon = await em.findOne(Coupon, { id: couponId }, { fields: ['id', 'maxIssuance'] });
    if (!coupon) throw new AppError('COUPON_NOT_FOUND', `Coupon ${couponId} does not exist`);
    const pendingBefore = await redis.zrange(keys.pending, 0, -1);
    const rows = await em
      .createQueryBuilder(MemberCoupon, 'mc')
      .select(['mc.member'])
      .where({ coupon: couponId })
      .execute<{ member: string }[]>('all', true);
    const memberIds = [...new Set([...pendingBefore, ...rows.map((row) => String(row.member))])];
    const issued = await redis.couponRebuild(keys.state, keys.members, keys.pending, coupon.maxIssuance, options.force ? 1 : 0, ...memberIds);
    if (issued === -1) return { couponId, rebuilt: false, issued: await redis.scard(keys.members), max: Number(await redis.hget(keys.state, 'max')) };
    return { couponId, rebuilt: true, issued, max: coupon.maxIssuance };
  } finally {
    await redis.couponUnlock(keys.rebuildLock, token).catch(() => undefined);
  }
}

/** Initialises a brand-new coupon's state (nothing issued yet). No-op if it exists. */
export async function initCouponState(redis: ClaimRedis, prefix: string, couponId: string, max: number): Promise<void> {
  const keys = couponKeys(prefix, couponId);
  await redis.couponRebuild(keys.state, keys.members, keys.pending, max, 0);
}
