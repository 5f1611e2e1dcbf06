import type { EntityManager } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Member, MemberRole } from '../members/member.entity.js';

/**
 * Hashes stored by Pick before the switch to @node-rs/argon2, made on 2026-12-02 with the `argon2`
 * 0.45.1 package (members.service.ts, seed.ts and mint-members.ts passed
 * { type: argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 }; create-rush-event.ts passed
 * only the type, so argon2 0.45's defaults). Members who signed up before the switch log in with these.
 */
export const ARGON2_045_HASHES = {
  appParams: {
    password: 'old-code-password-2026',
    hash: '$argon2id$v=19$m=19456,p=1,t=2$+07y4o4bTlxjZCQYUINGCQ$U/WAQHpaZwLTFmz0HMLok+UQs0SWYpWhmGSzy1hHoUo',
  },
  defaultParams: {
    password: 'old-default-params-2026',
    hash: '$argon2id$v=19$m=65536,p=4,t=3$hQDyXxbWCnTrnr4nQm9sTw$2qmWswAMwpLrekrorygoR2RTq5qLH+THEYcHM5AUM+E',
  },
} as const;

/** Stores a member whose password hash is exactly `passwordHash` (as an old release left it); returns its email. */
export async function insertMemberWithHash(
  em: EntityManager,
  passwordHash: string,
): Promise<{ id: string; email: string }> {
  const tag = randomUUID().replace(/-/g, '').slice(0, 12);
  const member = em.create(Member, {
    email: `legacy-${tag}@test.pick`,
    nickname: `l${tag}`,
    phone: `011-${parseInt(tag.slice(0, 7), 16) % 10_000_000}`.padEnd(12, '0'),
    name: 'Legacy Member',
    address: 'Seoul',
    passwordHash,
    role: MemberRole.CUSTOMER,
  });
  await em.persist(member).flush();
  return { id: String(member.id), email: member.email };
}
