import type { Opt, Rel } from '@mikro-orm/core';
import { Entity, Enum, ManyToOne, Property } from '@mikro-orm/decorators/legacy';
import { BaseEntity } from '../database/base.entity.js';
import { CouponEvent } from './coupon-event.entity.js';

export enum DiscountType {
  PERCENTAGE = 'PERCENTAGE',
  FIXED_AMOUNT = 'FIXED_AMOUNT',
}

@Entity({ tableName: 'coupon' })
export class Coupon extends BaseEntity {
  @ManyToOne(() => CouponEvent, { deleteRule: 'restrict' })
  event!: Rel<CouponEvent>;

  @Property({ length: 100 })
  name!: string;

  @Enum({ items: () => DiscountType })
  discountType!: DiscountType;

  @Property({ type: 'integer', unsigned: true })
  discountValue!: number;

  @Property({ type: 'integer', unsigned: true })
  minimumProductPrice: Opt<number> = 0;

  /** The coupon's own validity window (when it can be used), checked at claim time too. */
  @Property({ type: 'datetime', length: 3 })
  validFrom!: Date;

  @Property({ type: 'datetime', length: 3 })
  validUntil!: Date;

  @Property({ type: 'integer', unsigned: true })
  maxIssuance!: number;
}
