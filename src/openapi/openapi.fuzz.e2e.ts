import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemberRole } from '../members/member.entity.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { createEvent, eventBody, mint } from '../testing/fixtures.js';
import { openApiChecker } from '../testing/openapi-check.js';
import {
  asCurl,
  operationsOf,
  requestsFor,
  ROLES,
  SchemaValues,
  type FuzzRequest,
  type IdPools,
  type Role,
} from '../testing/openapi-fuzz.js';

/**
 * Schema-driven fuzzing of every operation of the committed document (src/openapi/openapi.json):
 * requests generated from its schemas by fast-check (src/testing/openapi-fuzz.ts), valid and with
 * one hostile change each, sent anonymously and as a CUSTOMER, an approved SELLER and an ADMIN.
 * Every answer: no 5xx, documented (status, codes, body; openapi-check.ts), errors in the error
 * shape with the x-request-id they name, no 2xx for a request the document refuses, and 400
 * VALIDATION_FAILED for a lone surrogate anywhere in a JSON body.
 *
 * A failure prints fast-check's seed and path, the shrunk request as a curl line and the answer.
 * Replay: PICK_FUZZ_SEED=<seed> npm test -- src/openapi/openapi.fuzz.e2e.ts -t <operationId>
 * (the seed of an operation is the run's seed plus its index, so one operation replays alone).
 * PICK_FUZZ_RUNS sets the requests per operation (default 500: 28 operations, 14,000 requests, ~35 s on 2 cores).
 */

const RUNS = Number(process.env.PICK_FUZZ_RUNS ?? 500);
const SEED = Number(process.env.PICK_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const document = openApiChecker().document;
const operations = operationsOf(document);

/** Members the requests are sent as: a few of each role, minted straight into the database. */
class Actors {
  private readonly pools = new Map<Role, string[]>();
  /** Every actor's member id: admin operations on them are not generated (a ban would end the run's coverage). */
  readonly ids = new Set<string>();
  retired = 0;

  constructor(private readonly t: TestApp) {}

  async fill(role: Exclude<Role, 'anonymous'>, count: number): Promise<void> {
    const minted = await mint(this.t.config, count, MemberRole[role]);
    for (const member of minted) this.ids.add(String(member.id));
    this.pools.set(role, [...(this.pools.get(role) ?? []), ...minted.map((member) => member.accessToken)]);
  }

  token(role: Role): string | undefined {
    if (role === 'anonymous') return undefined;
    const pool = this.pools.get(role)!;
    return pool[Math.floor(Math.random() * pool.length)];
  }

  /** A token whose session a request ended (logout-all): another member of the role takes over. */
  async retire(role: Role, token: string): Promise<void> {
    if (role === 'anonymous') return;
    const pool = this.pools.get(role)!;
    const index = pool.indexOf(token);
    if (index < 0) return;
    pool.splice(index, 1);
    this.retired += 1;
    if (pool.length < 3) await this.fill(role, 10);
  }
}

interface Figures {
  sent: number;
  byStatus: Map<number, number>;
  operations: Set<string>;
  valid: number;
  refusedByDocument: number;
  serverErrors: number;
  violations: number;
  startedAt: number;
}

describe('schema-driven fuzzing: every operation of the document', () => {
  let t: TestApp;
  let actors: Actors;
  let ids: IdPools;
  const values = new SchemaValues(document);
  const figures: Figures = {
    sent: 0,
    byStatus: new Map(),
    operations: new Set(),
    valid: 0,
    refusedByDocument: 0,
    serverErrors: 0,
    violations: 0,
    startedAt: 0,
  };

  beforeAll(async () => {
    t = await startTestApp({
      // The limits stay on, far from what one run sends: a member past one gets 429 before validation.
      THROTTLE_CLAIM_MEMBER_LIMIT: '1000000',
      THROTTLE_PRODUCT_WRITE_MEMBER_LIMIT: '1000000',
      THROTTLE_UPLOAD_MEMBER_LIMIT: '1000000',
      THROTTLE_LOGIN_EMAIL_LIMIT: '1000000',
      // Valid logins and signups hash: the cheapest parameters the settings allow.
      PASSWORD_HASH_MEMORY_KIB: '7168',
      PASSWORD_HASH_TIME_COST: '1',
    });
    actors = new Actors(t);
    await Promise.all([actors.fill('CUSTOMER', 8), actors.fill('SELLER', 8), actors.fill('ADMIN', 4)]);
    const adminToken = actors.token('ADMIN')!;
    const victims = [
      ...(await mint(t.config, 20, MemberRole.CUSTOMER)),
      ...(await mint(t.config, 10, MemberRole.SELLER)),
    ].map((member) => String(member.id));
    const products: string[] = [];
    for (let i = 0; i < 10; i++) {
      const created = await t.http.post(
        '/api/seller/products',
        { name: `Fuzz ${i}`, price: 1000 * i, description: 'fixture', stock: 5, category: 'TOP', status: 'IN_STOCK' },
        actors.token('SELLER'),
      );
      expect(created.status).toBe(201);
      products.push(created.body.id);
    }
    const events: string[] = [];
    const coupons: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await createEvent(t.http, adminToken, eventBody({ max: 1_000_000, coupons: 2 }));
      events.push(created.eventId);
      coupons.push(...created.couponIds);
    }
    ids = (operation, parameter) => {
      if (/^\/api\/admin\/(members|sellers)\//.test(operation.template)) return victims;
      if (operation.template.includes('/products/')) return products;
      if (parameter === 'couponId') return coupons;
      if (operation.template.includes('/events/')) return events;
      return [];
    };
    console.log(
      `fuzz: seed ${SEED}, ${RUNS} requests per operation, ${operations.length} operations (replay: PICK_FUZZ_SEED=${SEED} npm test -- src/openapi/openapi.fuzz.e2e.ts)`,
    );
    figures.startedAt = performance.now();
  });
  afterAll(() => t?.close());

  /** Sends one request and holds its answer to the document; throws what is wrong, with the request. */
  async function send(request: FuzzRequest): Promise<void> {
    const headers = { ...request.headers };
    const token = actors.token(request.role);
    if (token) headers.authorization = `Bearer ${token}`;
    const body =
      request.body === undefined ? undefined : request.binary ? Buffer.from(request.body, 'latin1') : request.body;
    const response = await fetch(t.url + request.url, { method: request.method, headers, body });
    const text = await response.text();
    let answer: any = text;
    try {
      answer = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: the document check says whether that may be
    }
    figures.sent += 1;
    figures.operations.add(request.operationId);
    figures.byStatus.set(response.status, (figures.byStatus.get(response.status) ?? 0) + 1);
    if (request.change === 'valid') figures.valid += 1;
    if (!request.documentAccepts) figures.refusedByDocument += 1;

    const problems: string[] = [];
    if (response.status >= 500) {
      figures.serverErrors += 1;
      problems.push(`a ${response.status}`);
    }
    try {
      openApiChecker().check(request.method, request.url, response.status, response.headers, answer);
    } catch (error) {
      problems.push((error as Error).message);
    }
    if (
      response.status >= 400 &&
      (answer?.requestId === undefined || answer.requestId !== response.headers.get('x-request-id'))
    )
      problems.push('the error body does not name the x-request-id');
    if (!request.documentAccepts && response.status < 300)
      problems.push(`${response.status} for a request the document refuses (${request.change})`);
    if (request.loneSurrogate && !(response.status === 400 && answer?.code === 'VALIDATION_FAILED'))
      problems.push('a lone surrogate in the body, not answered 400 VALIDATION_FAILED');
    if (problems.length > 0) {
      figures.violations += 1;
      throw new Error(
        `${problems.join('; ')}\n  request (${request.role}, ${request.change}): ${asCurl(request, t.url)}\n  answer: ${response.status} ${text.slice(0, 400)}`,
      );
    }
    // A session this request ended (logout-all) leaves the role to another member.
    if (token && ((response.status === 401 && answer?.code === 'SESSION_ENDED') || answer?.code === 'MEMBER_BANNED'))
      await actors.retire(request.role, token);
  }

  it.each(operations.map((operation, index) => ({ ...operation, index })))(
    '$method $template ($operationId)',
    async (operation) => {
      const requests = requestsFor(operation, values, ids).filter(
        // Admin operations on the actors themselves would ban, demote or delete the run's own members.
        (request) =>
          !/^\/api\/admin\/(members|sellers)\//.test(request.url) || !actors.ids.has(request.url.split('/')[4]),
      );
      await fc.assert(fc.asyncProperty(requests, send), { numRuns: RUNS, seed: SEED + operation.index });
    },
    300_000,
  );

  it('sent every operation its share, as every role, without a 5xx or a contract violation', () => {
    const seconds = (performance.now() - figures.startedAt) / 1000;
    const statuses = [...figures.byStatus].sort(([a], [b]) => a - b).map(([status, count]) => `${status}: ${count}`);
    console.log(
      `fuzz: ${figures.sent} requests in ${seconds.toFixed(1)} s (${Math.round(figures.sent / seconds)}/s), ` +
        `${figures.operations.size} of ${operations.length} operations, roles ${ROLES.join(', ')}; ` +
        `${figures.valid} valid, ${figures.sent - figures.valid} changed (${figures.refusedByDocument} refused by the document); ` +
        `statuses ${statuses.join(', ')}; 5xx: ${figures.serverErrors}, contract violations: ${figures.violations}; ` +
        `${actors.retired} sessions ended by the requests themselves`,
    );
    expect(figures.operations.size).toBe(operations.length);
    expect(figures.sent).toBeGreaterThanOrEqual(RUNS * operations.length);
    expect(figures.serverErrors).toBe(0);
    expect(figures.violations).toBe(0);
  });
});
