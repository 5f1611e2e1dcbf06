/**
 * Mints N members at once for load tests and benchmarks (never in production):
 *   npm run mint-members -- --count 1000 --out members.json [--prefix tag]
 * One multi-row INSERT per 1,000 members with a single precomputed password hash, and access
 * tokens signed locally with JWT_ACCESS_SECRET (no N logins). Writes [{id, email, accessToken}].
 */
import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/mysql';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { assertNodeVersion, loadConfig, type AppConfig } from '../../config/env.js';
import { ormOptions } from '../../config/mikro-orm.js';
import { TokenSigning } from '../auth/token-signing.js';
import { MemberRole, SellerStatus } from '../members/member.entity.js';
import { PasswordHasher } from '../members/password-hasher.js';
import { exitOnConfigError } from './cli-support.js';

export interface MintedMember {
  id: string;
  email: string;
  accessToken: string;
}

export interface MintOptions {
  count: number;
  /** lower-case letters and digits, up to 8; default random. Emails are `<prefix>-<n>@mint.pick`. */
  prefix?: string;
  role?: MemberRole;
  password?: string;
}

const CHUNK = 1_000;

/** Creates the members (one hash, multi-row inserts) and signs an access token for each. */
export async function mintMembers(orm: MikroORM, config: AppConfig, options: MintOptions): Promise<MintedMember[]> {
  const prefix = options.prefix ?? randomBytes(4).toString('hex');
  if (!/^[a-z0-9]{1,8}$/.test(prefix)) throw new Error('prefix: 1-8 lower-case letters or digits');
  if (!Number.isInteger(options.count) || options.count < 1 || options.count > 1_000_000)
    throw new Error('count: an integer from 1 to 1,000,000');
  const role = options.role ?? MemberRole.CUSTOMER;
  // Load-test sellers are approved: they are there to write products.
  const sellerStatus = role === MemberRole.SELLER ? SellerStatus.APPROVED : null;
  const hash = await new PasswordHasher(config).hash(options.password ?? 'password123');
  const connection = orm.em.getConnection();
  for (let start = 0; start < options.count; start += CHUNK) {
    const size = Math.min(CHUNK, options.count - start);
    const params: unknown[] = [];
    for (let n = start; n < start + size; n++) {
      // nickname <= 30 and phone <= 20 characters, unique per prefix.
      params.push(
        `${prefix}-${n}@mint.pick`,
        `${prefix}_${n}`,
        `m${prefix}-${n}`,
        `Minted ${n}`,
        'Seoul',
        hash,
        role,
        sellerStatus,
      );
    }
    const values = Array.from(
      { length: size },
      () => '(utc_timestamp(3), utc_timestamp(3), ?, ?, ?, ?, ?, ?, ?, ?)',
    ).join(', ');
    const columns = 'created_at, updated_at, email, nickname, phone, name, address, password_hash, role, seller_status';
    await connection.execute(`insert into member (${columns}) values ${values}`, params, 'run');
  }
  const rows = await connection.execute<{ id: string | number; email: string }[]>(
    'select id, email from member where email like ? order by id',
    [`${prefix}-%@mint.pick`],
  );
  // Signed exactly as the app signs them (no session: these tokens are not refreshable).
  const signing = new TokenSigning(config);
  return rows.map((row) => ({
    id: String(row.id),
    email: row.email,
    accessToken: signing.signAccess({ id: String(row.id), role, sessionVersion: 0, sellerStatus }),
  }));
}

async function main(): Promise<void> {
  assertNodeVersion();
  const config = loadConfig();
  if (config.NODE_ENV === 'production')
    throw new Error('mint-members is for load tests; refused with NODE_ENV=production');
  const { values } = parseArgs({
    options: { count: { type: 'string' }, out: { type: 'string' }, prefix: { type: 'string' } },
  });
  if (!values.count || !values.out)
    throw new Error('usage: npm run mint-members -- --count N --out path [--prefix tag]');
  const orm = await MikroORM.init(ormOptions(config));
  try {
    const started = Date.now();
    const members = await mintMembers(orm, config, { count: Number(values.count), prefix: values.prefix });
    writeFileSync(values.out, JSON.stringify(members));
    console.log(`minted ${members.length} members into ${values.out} in ${Date.now() - started} ms`);
  } finally {
    await orm.close(true);
  }
}

if (import.meta.main) main().catch(exitOnConfigError);
