import type { Opt, Rel } from '@mikro-orm/core';
import { Entity, OneToOne, Property } from '@mikro-orm/decorators/legacy';
import { Coupon } from './coupon.entity.js';

/**
 * The stock's MySQL side: member_coupon rows ever written for a coupon (a deleted member's still counts, as
 * it does in Redis), kept by the issuance insert, which admits no row past the coupon's maxIssuance.
 *
 * A table of its own, not a column of `coupon`: every member_coupon insert takes a shared lock on its
 * coupon's row (the foreign key check), so inserts that then updated that same row would deadlock each other,
 * or, locking it first, run one at a time (the drain fell from 45,075 to 12,766 rows/s). No foreign key
 * points here: concurrent inserts go in side by side and queue only for this row's update, just before commit.
 */
@Entity({ tableName: 'coupon_issued' })
export class CouponIssued {
  @OneToOne(() => Coupon, { primary: true, deleteRule: 'cascade', owner: true })
  coupon!: Rel<Coupon>;

  @Property({ type: 'integer', unsigned: true, default: 0 })
  issuedCount: Opt<number> = 0;
}
