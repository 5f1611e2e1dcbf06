import { Collection } from '@mikro-orm/core';
import { Entity, OneToMany, Property } from '@mikro-orm/decorators/legacy';
import { BaseEntity } from '../database/base.entity.js';
import { Coupon } from './coupon.entity.js';

@Entity({ tableName: 'event' })
export class CouponEvent extends BaseEntity {
  @Property({ length: 100 })
  title!: string;

  @Property({ type: 'datetime', length: 3 })
  startsAt!: Date;

  @Property({ type: 'datetime', length: 3 })
  endsAt!: Date;

  @OneToMany(() => Coupon, (coupon) => coupon.event, { orderBy: { id: 'asc' } })
  coupons = new Collection<Coupon>(this);
}
