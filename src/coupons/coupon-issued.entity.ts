import type { Opt, Rel } from '@mikro-orm/core';
import { Entity, OneToOne, Property } from '@mikro-orm/decorators/legacy';
import { Coupon } from './coupon.entity.js';

/**
 * The stock's MySQL side: member_coupon rows ever written for a coupon (a deleted member's still counts, as
 * it does in Redis), kept by the issuance insert, which admits no row past the coupon's maxIssuance.
 *
 * A table of its own, not a column of `coupon`: every member_coupon insert takes a shared lock on its
 * coupon's row (the foreign key check), so inserts that then updated that same row would deadlock each other.
 * No foreign key points here: concurrent inserts go in side by side and queue for this row's update, which
 * holds its lock until their commit (the drain's cost: src/coupons/README.md).
 */
@Entity({ tableName: 'coupon_issued' })
export class CouponIssued {
  @OneToOne(() => Coupon, { primary: true, deleteRule: 'cascade', owner: true })
  coupon!: Rel<Coupon>;

  @Property({ type: 'integer', unsigned: true, default: 0 })
  issuedCount: Opt<number> = 0;
}
