import type { Opt } from '@mikro-orm/core';
import { Entity, Enum, Index, Property, Unique } from '@mikro-orm/decorators/legacy';
import { BaseEntity } from '../database/base.entity.js';

export enum MemberRole {
  CUSTOMER = 'CUSTOMER',
  SELLER = 'SELLER',
  ADMIN = 'ADMIN',
}

/** Where a SELLER stands with the shop: product writes and uploads need APPROVED. */
export enum SellerStatus {
  PENDING = 'PENDING',
  APPROVED = 'APPROVED',
  REJECTED = 'REJECTED',
}

@Entity({ tableName: 'member' })
@Index({ properties: ['sellerStatus', 'id'] })
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

  /** Set for SELLERs only (a SELLER signup starts PENDING); null for other roles. */
  @Enum({ items: () => SellerStatus, nullable: true })
  sellerStatus: Opt<SellerStatus> | null = null;

  /** Banned members cannot log in, refresh or use their tokens (403 MEMBER_BANNED). */
  @Property({ type: 'datetime', length: 3, nullable: true })
  bannedAt: Opt<Date> | null = null;

  /** Deleted members are kept (their coupons and products reference them) but cannot sign in. */
  @Property({ type: 'datetime', length: 3, nullable: true })
  deletedAt: Opt<Date> | null = null;

  /**
   * Bumped whenever every session of the member must end (role or seller approval change, ban,
   * deletion, logout-all). Tokens carry the version they were issued under; older ones are refused.
   */
  @Property({ type: 'integer', unsigned: true, default: 0 })
  sessionVersion: Opt<number> = 0;
}

/** The seller status a member of this role starts with. */
export function initialSellerStatus(role: MemberRole): SellerStatus | null {
  return role === MemberRole.SELLER ? SellerStatus.PENDING : null;
}
