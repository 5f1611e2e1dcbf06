import type { ErrorCode } from '../common/errors.js';

/** What the claim path needs of an event and its coupons; cached in every worker. */
export interface CouponSnapshot {
  id: string;
  name: string;
  discountType: string;
  discountValue: number;
  minimumProductPrice: number;
  validFrom: number;
  validUntil: number;
  maxIssuance: number;
}

export interface EventSnapshot {
  id: string;
  title: string;
  startsAt: number;
  endsAt: number;
  coupons: CouponSnapshot[];
}

/**
 * A coupon is claimable while both its event runs and its own validity window is open
 * (the original never checked the latter). Start inclusive, end exclusive. Returns the
 * refusal's code, or null when the claim may go to Redis.
 */
export function claimWindowError(
  event: Pick<EventSnapshot, 'startsAt' | 'endsAt'>,
  coupon: Pick<CouponSnapshot, 'validFrom' | 'validUntil'>,
  now: number,
): ErrorCode | null {
  if (now >= event.endsAt || now >= coupon.validUntil) return 'EVENT_ENDED';
  if (now < event.startsAt || now < coupon.validFrom) return 'EVENT_NOT_STARTED';
  return null;
}
