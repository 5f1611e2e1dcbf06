import { testAdmin } from './admin.js';
import { startTestApp, type TestApp } from './app.js';
import type { HttpClient } from './http.js';

/** A member signed up and logged in through the API (HttpClient.member). */
export type TestMember = Awaited<ReturnType<HttpClient['member']>>;

/** Who a test sends requests as: a customer, an approved seller and the test database's admin. */
export interface RoleActors {
  customer: TestMember;
  seller: TestMember;
  admin: { id: string; accessToken: string };
}

/** The real app (startTestApp) and a member of each role, for suites that send as every role (the bad-input tables). */
export async function startAppWithActors(
  overrides: Record<string, string> = {},
): Promise<{ t: TestApp; actors: RoleActors }> {
  const t = await startTestApp(overrides);
  const [customer, seller, admin] = await Promise.all([
    t.http.member('CUSTOMER'),
    t.http.member('SELLER'),
    testAdmin(),
  ]);
  return { t, actors: { customer, seller, admin } };
}
