import { MikroORM } from '@mikro-orm/mysql';
import { loadConfig } from '../../config/env.js';
import { ormOptions } from '../../config/mikro-orm.js';
import { mintMembers } from '../cli/mint-members.js';
import { MemberRole } from '../members/member.entity.js';

let token: Promise<string> | undefined;

/**
 * An access token of an ADMIN of the test database (minted once per test process, signed exactly as
 * the app signs them), for tests that need an admin's API calls: approving sellers, bans, roles.
 */
export function testAdminToken(): Promise<string> {
  token ??= (async () => {
    const config = loadConfig(process.env);
    const orm = await MikroORM.init(ormOptions(config));
    try {
      const [admin] = await mintMembers(orm, config, { count: 1, role: MemberRole.ADMIN });
      return admin.accessToken;
    } finally {
      await orm.close(true);
    }
  })();
  token.catch(() => (token = undefined));
  return token;
}

/** The test ADMIN as the API knows it: its member id (the token's subject) and its access token. */
export async function testAdmin(): Promise<{ id: string; accessToken: string }> {
  const accessToken = await testAdminToken();
  const subject = JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString()).sub;
  return { id: String(subject), accessToken };
}
