/**
 * Creates a coupon-rush event for the k6 scripts through the admin API (POST /api/admin/events), so
 * the coupon goes through exactly what an admin's does (validation, Redis stock, caches), and prints
 * / writes its ids as JSON for k6 (`RUSH_EVENT_FILE`).
 *
 *   npm run create-rush-event -- [--base-url URL] [--stock 10000] [--starts-in 30] [--duration 600]
 *                                [--title T] [--out FILE] [--admin-email E --admin-password P]
 *
 * Admin credentials: with --admin-email/--admin-password it logs in like an admin would (any
 * deployment). Without them it signs an access token itself for an ADMIN member of the configured
 * database (JWT_ACCESS_SECRET, DB_* from the environment, as the app reads them), creating
 * `perf-admin@pick.local` when there is none: for local and staging clusters. Refused in production.
 */
import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/mysql';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { assertNodeVersion, loadConfig, type AppConfig } from '../../config/env.js';
import { ormOptions } from '../../config/mikro-orm.js';
import { TokenSigning, tokenSubject } from '../auth/token-signing.js';
import { Member, MemberRole } from '../members/member.entity.js';
import { PasswordHasher } from '../members/password-hasher.js';
import { exitOnConfigError } from './cli-support.js';

export interface RushEventFile {
  baseUrl: string;
  eventId: string;
  couponId: string;
  stock: number;
  startsAt: string;
  endsAt: string;
}

const PERF_ADMIN_EMAIL = 'perf-admin@pick.local';

function positive(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

/** An access token of an ADMIN member of this database, signed exactly as the app signs them. */
export async function localAdminToken(config: AppConfig): Promise<string> {
  const orm = await MikroORM.init(ormOptions(config));
  try {
    const em = orm.em.fork();
    let admin = await em.findOne(
      Member,
      { role: MemberRole.ADMIN, bannedAt: null, deletedAt: null },
      { orderBy: { id: 'asc' } },
    );
    if (!admin) {
      // Nobody logs in as this member: the password is random and thrown away.
      const passwordHash = await new PasswordHasher(config).hash(randomBytes(24).toString('base64url'));
      admin = em.create(Member, {
        email: PERF_ADMIN_EMAIL,
        nickname: 'perf-admin',
        phone: '010-9999-0000',
        name: 'Perf admin',
        address: '-',
        passwordHash,
        role: MemberRole.ADMIN,
      });
      await em.flush();
    }
    return new TokenSigning(config).signAccess(tokenSubject(admin));
  } finally {
    await orm.close(true);
  }
}

async function loginToken(baseUrl: string, email: string, password: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = (await response.json().catch(() => ({}))) as { accessToken?: string };
  if (response.status !== 200 || !body.accessToken)
    throw new Error(`admin login failed: ${response.status} ${JSON.stringify(body)}`);
  return body.accessToken;
}

export async function createRushEvent(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<RushEventFile> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'base-url': { type: 'string' },
      stock: { type: 'string' },
      'starts-in': { type: 'string' },
      duration: { type: 'string' },
      title: { type: 'string' },
      out: { type: 'string' },
      'admin-email': { type: 'string' },
      'admin-password': { type: 'string' },
    },
    strict: true,
  });
  const config = loadConfig(env);
  const baseUrl = (values['base-url'] ?? env.BASE_URL ?? `http://127.0.0.1:${config.PORT}`).replace(/\/+$/, '');
  const stock = positive('stock', values.stock, 10_000);
  const startsIn = positive('starts-in', values['starts-in'], 30, 0);
  const durationSeconds = positive('duration', values.duration, 600);

  let token: string;
  if (values['admin-email']) token = await loginToken(baseUrl, values['admin-email'], values['admin-password'] ?? '');
  else {
    if (config.NODE_ENV === 'production') throw new Error('in production, pass --admin-email and --admin-password');
    token = await localAdminToken(config);
  }

  // Whole seconds: the event opens on a second boundary, easy to line up with a k6 start.
  const startsAt = new Date(Math.ceil((Date.now() + startsIn * 1000) / 1000) * 1000);
  const endsAt = new Date(startsAt.getTime() + durationSeconds * 1000);
  const title = values.title ?? `k6 rush ${startsAt.toISOString()}`;
  const response = await fetch(`${baseUrl}/api/admin/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      title,
      startsAt: startsAt.toISOString(),
      endsAt: endsAt.toISOString(),
      coupons: [
        {
          name: `${stock} for the first`,
          discountType: 'FIXED_AMOUNT',
          discountValue: 5_000,
          minimumProductPrice: 0,
          validFrom: startsAt.toISOString(),
          validUntil: new Date(endsAt.getTime() + 30 * 24 * 3600_000).toISOString(),
          maxIssuance: stock,
        },
      ],
    }),
  });
  const body = (await response.json().catch(() => ({}))) as {
    id?: string | number;
    coupons?: { id: string | number }[];
  };
  if (response.status !== 201 || body.id === undefined || !body.coupons?.[0]) {
    throw new Error(`POST ${baseUrl}/api/admin/events → ${response.status} ${JSON.stringify(body)}`);
  }
  const result: RushEventFile = {
    baseUrl,
    eventId: String(body.id),
    couponId: String(body.coupons[0].id),
    stock,
    startsAt: startsAt.toISOString(),
    endsAt: endsAt.toISOString(),
  };
  if (values.out) writeFileSync(values.out, JSON.stringify(result, null, 2) + '\n');
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  assertNodeVersion();
  createRushEvent(process.argv.slice(2))
    .then((result) => console.log(JSON.stringify(result)))
    .catch(exitOnConfigError);
}
