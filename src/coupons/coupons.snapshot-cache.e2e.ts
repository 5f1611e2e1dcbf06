import { EntityManager } from '@mikro-orm/mysql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemberRole } from '../members/member.entity.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { createEvent, eventBody, mint } from '../testing/fixtures.js';
import { sleep, until } from '../testing/poll.js';
import { CouponEvent } from './coupon-event.entity.js';

/** How long a committed admin edit may take to reach every worker (broadcast p99 is ~100 ms; a loaded 2-core box). */
const INVALIDATION_BOUND_MS = 2_000;

/**
 * The event snapshot every claim is checked against, cached per worker: an admin who ends an
 * event early must be obeyed by every worker within the invalidation bound, also when a
 * worker was loading the snapshot from MySQL at the moment of the edit.
 */
describe('event snapshot cache (two workers in process)', () => {
  let writer: TestApp;
  let loader: TestApp;
  let admin: string;
  let members: { id: string; accessToken: string }[];
  let next = 0;
  const claim = (app: TestApp, eventId: string, couponId: string) =>
    app.http.post(`/api/events/${eventId}/coupons/${couponId}/issue`, undefined, members[next++].accessToken);

  beforeAll(async () => {
    // TTL far beyond the test: freshness can only come from the invalidation.
    [writer, loader] = [await startTestApp({ CACHE_TTL_MS: '600000' }), await startTestApp({ CACHE_TTL_MS: '600000' })];
    admin = (await mint(writer.config, 1, MemberRole.ADMIN))[0].accessToken;
    members = await mint(writer.config, 60);
  });
  afterAll(async () => {
    await Promise.all([writer?.close(), loader?.close()]);
  });

  it('an admin PATCH that ends the event while a snapshot load is in flight: every worker answers 410 EVENT_ENDED within the bound, and stays so', async () => {
    const { eventId, couponIds } = await createEvent(writer.http, admin, eventBody({ max: 50 }));
    const [couponId] = couponIds;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let readOld!: () => void;
    const oldRead = new Promise<void>((resolve) => (readOld = resolve));
    // A slow snapshot load on the second worker: its MySQL read of the event has returned the
    // running event, and the load has not finished (stored, returned) yet. Only that one read is held.
    const em = loader.app.get(EntityManager);
    const fork = em.fork.bind(em);
    let held = false;
    const spy = vi.spyOn(em, 'fork').mockImplementation((...args: Parameters<EntityManager['fork']>) => {
      const forked = fork(...args);
      const findOne = forked.findOne.bind(forked) as (...a: unknown[]) => Promise<unknown>;
      (forked as { findOne: unknown }).findOne = async (...a: unknown[]) => {
        const found = await findOne(...a);
        if (!held && a[0] === CouponEvent) {
          held = true;
          readOld();
          await gate;
        }
        return found;
      };
      return forked;
    });
    try {
      const slow = claim(loader, eventId, couponId);
      await oldRead;
      const ended = await writer.http.patch(
        `/api/admin/events/${eventId}`,
        { endsAt: new Date(Date.now() - 1000).toISOString() },
        admin,
      );
      expect(ended.status, JSON.stringify(ended.body)).toBe(200);
      const endedAt = Date.now();
      // Give the broadcast time to arrive (and evict) while the old load still holds its stale copy.
      await sleep(500);
      release();
      const slowAnswer = await slow;
      // It began before the edit: either answer is fine for its own caller.
      expect([202, 410]).toContain(slowAnswer.status);

      for (const [name, app] of [
        ['writer', writer],
        ['loader', loader],
      ] as const) {
        const refused = await until(
          `${name} refuses`,
          () => claim(app, eventId, couponId),
          (r) => r.status === 410,
          INVALIDATION_BOUND_MS,
          50,
        );
        expect(refused.body.code).toBe('EVENT_ENDED');
      }
      console.log(
        `[snapshot-cache] every worker answers 410 EVENT_ENDED ${Date.now() - endedAt} ms after the edit's response (bound ${INVALIDATION_BOUND_MS} ms)`,
      );
      // And it stays so: the load that was in flight never stored its old snapshot.
      for (let i = 0; i < 5; i++) {
        for (const app of [writer, loader]) {
          const again = await claim(app, eventId, couponId);
          expect({ status: again.status, code: again.body.code }).toEqual({ status: 410, code: 'EVENT_ENDED' });
        }
      }
      expect((await loader.http.get(`/api/events/${eventId}`)).body.endsAt).toBe(ended.body.endsAt);
    } finally {
      release();
      spy.mockRestore();
    }
  });
});
