import type { Opt } from '@mikro-orm/core';
import { Entity, Enum, Property, Unique } from '@mikro-orm/decorators/legacy';
import { BaseEntity } from '../database/base.entity.js';

export enum MemberRole {
  CUSTOMER = 'CUSTOMER',
  SELLER = 'SELLER',
  ADMIN = 'ADMIN',
}

@Entity({ tableName: 'member' })
export class Member extends BaseEntity {
  @Property({ length: 254 })
  @Unique()
  email!: string;

  @Property({ length: 30 })
  @Unique()
  nickname!: string;

  @Property({ length: 20 })
  @Unique()
  phone!: string;

  @Property({ length: 50 })
  name!: string;

  @Property({ length: 200 })
  address!: string;

  @Property({ length: 255, hidden: true, lazy: true })
  passwordHash!: string;

  @Enum({ items: () => MemberRole })
  role: Opt<MemberRole> = MemberRole.CUSTOMER;
}
