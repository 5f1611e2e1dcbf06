import { MikroORM } from '@mikro-orm/mysql';
import type { AppConfig } from '../../config/env.js';
import { ormOptions } from '../../config/mikro-orm.js';
import { mintMembers, type MintedMember } from '../cli/mint-members.js';
import { MemberRole } from '../members/member.entity.js';
import type { HttpClient } from './http.js';

const HOUR = 3600_000;

/** A valid signup body with unique email, nickname and phone. */
export const validSignup = () => {
  const tag = Math.random().toString(36).slice(2, 10);
  return {
    email: `bad-${tag}@test.pick`,
    password: 'password123',
    name: 'Bad Input',
    nickname: `b${tag}`,
    phone: `010-${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`,
    address: 'Seoul',
    role: 'CUSTOMER',
  };
};

/** A valid product body (POST /api/seller/products). */
export const validProduct = {
  name: 'Shirt',
  price: 1000,
  description: 'cotton',
  stock: 5,
  category: 'TOP',
  status: 'IN_STOCK',
};

/** Creates a product (validProduct unless told otherwise) as `sellerToken`; returns its id. */
export async function createProduct(
  http: HttpClient,
  sellerToken: string,
  body: object = validProduct,
): Promise<string> {
  const created = await http.post('/api/seller/products', body, sellerToken);
  if (created.status !== 201) throw new Error(`product create: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body.id;
}

/** An event body: running now unless told otherwise, one coupon of `max`. */
export function eventBody(options: { max?: number; startsIn?: number; endsIn?: number; coupons?: number } = {}) {
  const now = Date.now();
  const startsAt = new Date(now + (options.startsIn ?? -HOUR)).toISOString();
  const endsAt = new Date(now + (options.endsIn ?? HOUR)).toISOString();
  return {
    title: `Rush ${now}`,
    startsAt,
    endsAt,
    coupons: Array.from({ length: options.coupons ?? 1 }, (_, index) => ({
      name: `Coupon ${index + 1}`,
      discountType: 'FIXED_AMOUNT',
      discountValue: 1000,
      minimumProductPrice: 0,
      validFrom: startsAt,
      validUntil: endsAt,
      maxIssuance: options.max ?? 100,
    })),
  };
}

export async function createEvent(
  http: HttpClient,
  adminToken: string,
  body: ReturnType<typeof eventBody>,
): Promise<{ eventId: string; couponIds: string[] }> {
  const created = await http.post('/api/admin/events', body, adminToken);
  if (created.status !== 201) throw new Error(`event create: ${created.status} ${JSON.stringify(created.body)}`);
  return { eventId: created.body.id, couponIds: created.body.coupons.map((coupon: { id: string }) => coupon.id) };
}

/** Mints members straight into the test database (one hash, multi-row insert, local tokens). */
export async function mint(config: AppConfig, count: number, role = MemberRole.CUSTOMER): Promise<MintedMember[]> {
  const orm = await MikroORM.init(ormOptions(config));
  try {
    return await mintMembers(orm, config, { count, role });
  } finally {
    await orm.close(true);
  }
}
