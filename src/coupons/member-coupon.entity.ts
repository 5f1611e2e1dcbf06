import type { Opt, Rel } from '@mikro-orm/core';
import { Entity, Enum, Index, ManyToOne, Property, Unique } from '@mikro-orm/decorators/legacy';
import { BaseEntity } from '../database/base.entity.js';
import { Member } from '../members/member.entity.js';
import { Coupon } from './coupon.entity.js';

export enum MemberCouponStatus {
  UNUSED = 'UNUSED',
  USED = 'USED',
}

// The UNIQUE key is what makes a persisted claim idempotent: a retried job cannot add a second row.
@Entity({ tableName: 'member_coupon' })
@Unique({ name: 'member_coupon_coupon_member_uq', properties: ['coupon', 'member'] })
@Index({ name: 'member_coupon_member_idx', properties: ['member'] })
export class MemberCoupon extends BaseEntity {
  @ManyToOne(() => Coupon, { deleteRule: 'restrict' })
  coupon!: Rel<Coupon>;

  @ManyToOne(() => Member, { deleteRule: 'cascade' })
  member!: Rel<Member>;

  @Enum({ items: () => MemberCouponStatus })
  status: Opt<MemberCouponStatus> = MemberCouponStatus.UNUSED;

  @Property({ type: 'datetime', length: 3, nullable: true })
  usedAt?: Date;
}
