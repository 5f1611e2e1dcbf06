import { EntityManager } from '@mikro-orm/mysql';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemberRole } from '../members/member.entity.js';
import { metricsRegistry } from '../metrics/metrics.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { createEvent, eventBody, mint } from '../testing/fixtures.js';
import { parseMetrics, sumOf, type Sample } from '../testing/metrics.js';
import { persistedRows } from '../testing/invariants.js';
import { until } from '../testing/poll.js';
import { ClaimSweeper } from './claim-sweeper.js';
import { couponKeys } from './coupon-stock.js';
import { ISSUANCE_BATCH_QUEUE, ISSUANCE_QUEUE, issuanceJobId, type IssuanceBatchJob } from './issuance.queue.js';

/** The rush metrics move by exactly what happened: claims by result, rows persisted, pending, queue, sweeper, rebuilds. */
describe('coupon rush metrics', () => {
  let held: TestApp | undefined;
  let admin: string;
  const samples = async (): Promise<Sample[]> => parseMetrics(await metricsRegistry.metrics());
  const claimPath = (eventId: string, couponId: string) => `/api/events/${eventId}/coupons/${couponId}/issue`;
  const rows = (t: TestApp, couponId: string) => persistedRows(t.app.get(EntityManager), couponId);

  // A Redis prefix of this file's own (queue, pending marks, coupon state): the exact counts below
  // must not see jobs or pending coupons that other files left in the shared test prefix, nor a
  // processor of theirs.
  const ownPrefix = `${process.env.REDIS_PREFIX ?? 'pick-test'}-metrics-${Date.now()}`;
  beforeAll(async () => {
    // Claims accepted here stay pending: no processor takes their jobs until the second app starts.
    // Batches of at most 2 claims: the 6 accepted below travel in 3 or more jobs, so losing one
    // job loses some of them, not all.
    held = await startTestApp({
      QUEUE_PROCESSORS_ENABLED: 'false',
      REDIS_PREFIX: ownPrefix,
      COUPON_ENQUEUE_BATCH_MAX: '2',
    });
    admin = (await mint(held.config, 1, MemberRole.ADMIN))[0].accessToken;
  });
  afterAll(() => held?.close());

  it('claims by result, pending per coupon, Bull jobs, sweeper re-enqueues and rebuilds, then rows persisted', async () => {
    const t = held!;
    const { eventId, couponIds } = await createEvent(t.http, admin, eventBody({ max: 6 }));
    const [couponId] = couponIds;
    const members = await mint(t.config, 9);
    const before = await samples();

    const answers = await Promise.all(
      members.map((m) => t.http.post(claimPath(eventId, couponId), undefined, m.accessToken)),
    );
    expect(answers.filter((a) => a.status === 202)).toHaveLength(6);
    expect((await t.http.post(claimPath(eventId, couponId), undefined, members[0].accessToken)).status).toBe(409);
    expect((await t.http.post(claimPath(eventId, '999999999'), undefined, members[0].accessToken)).status).toBe(404);
    const afterClaims = await samples();
    const delta = (name: string, labels: Record<string, string> = {}, now = afterClaims) =>
      sumOf(now, name, labels) - sumOf(before, name, labels);
    const accepted = answers.filter((a) => a.status === 202).length;
    const soldOut = answers.filter((a) => a.body?.code === 'COUPON_SOLD_OUT').length;
    const duplicates = answers.filter((a) => a.body?.code === 'COUPON_ALREADY_ISSUED').length + 1;
    expect({
      accepted: delta('pick_coupon_claims_total', { result: 'accepted' }),
      sold_out: delta('pick_coupon_claims_total', { result: 'sold_out' }),
      duplicate: delta('pick_coupon_claims_total', { result: 'duplicate' }),
      not_found: delta('pick_coupon_claims_total', { result: 'not_found' }),
    }).toEqual({ accepted, sold_out: soldOut, duplicate: duplicates, not_found: 1 });

    // Pending: all 6 in Redis, their batch jobs waiting in Bull (no processor here), each claim in exactly one.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const pending = await samples();
    expect(sumOf(pending, 'pick_coupon_pending_claims', { coupon: couponId })).toBe(6);
    expect(sumOf(pending, 'pick_coupon_oldest_pending_age_seconds', { coupon: couponId })).toBeGreaterThanOrEqual(0.3);
    const queue = t.app.get<Queue>(getQueueToken(ISSUANCE_QUEUE));
    const batchQueue = t.app.get<Queue<IssuanceBatchJob>>(getQueueToken(ISSUANCE_BATCH_QUEUE));
    const batches = await batchQueue.getWaiting();
    const accepting = members.filter((_, i) => answers[i].status === 202);
    expect(batches.flatMap((job) => job.data.memberIds).sort()).toEqual(accepting.map((m) => m.id).sort());
    expect(batches.every((job) => job.data.couponId === couponId && job.data.memberIds.length <= 2)).toBe(true);
    expect(sumOf(pending, 'pick_queue_jobs', { queue: 'coupon-issuance-batch', state: 'waiting' })).toBe(
      batches.length,
    );
    expect(sumOf(pending, 'pick_queue_jobs', { queue: 'coupon-issuance', state: 'waiting' })).toBe(0);
    expect(
      pending.filter((s) => s.name === 'pick_coupon_pending_claims').every((s) => /^\d+$/.test(s.labels.coupon)),
    ).toBe(true);

    // One batch job lost (the fullest: 2 of the 6 claims, or 1 if every job took one): the sweeper
    // re-enqueues exactly its claims, as single-claim jobs, and none of the others.
    const lost = batches.reduce((most, job) => (job.data.memberIds.length > most.data.memberIds.length ? job : most));
    const lostMembers = lost.data.memberIds;
    await lost.remove();
    const afterLoss = await samples();
    expect(sumOf(afterLoss, 'pick_queue_jobs', { queue: 'coupon-issuance-batch', state: 'waiting' })).toBe(
      batches.length - 1,
    );
    expect(sumOf(afterLoss, 'pick_queue_jobs', { queue: 'coupon-issuance', state: 'waiting' })).toBe(0);
    // A coupon whose state vanished is rebuilt by the same sweep.
    const redis = t.app.get(Redis);
    const keys = couponKeys(t.config.REDIS_PREFIX, couponId);
    await redis.del(keys.state);
    const report = await t.app.get(ClaimSweeper).sweep(Date.now() + t.config.COUPON_PENDING_BOUND_MS + 1000);
    expect(report.reenqueued).toBe(lostMembers.length);
    expect(report.reconciled.map((outcome) => outcome.couponId)).toContain(couponId);
    const single = await queue.getWaiting();
    expect(single.map((job) => String(job.id)).sort()).toEqual(
      lostMembers.map((id) => issuanceJobId(couponId, id)).sort(),
    );
    const swept = await samples();
    expect(delta('pick_coupon_sweeper_reenqueued_total', {}, swept)).toBe(lostMembers.length);
    expect(delta('pick_coupon_state_rebuilds_total', {}, swept)).toBeGreaterThanOrEqual(1);
    expect(sumOf(swept, 'pick_queue_jobs', { queue: 'coupon-issuance', state: 'waiting' })).toBe(lostMembers.length);
    expect(sumOf(swept, 'pick_queue_jobs', { queue: 'coupon-issuance-batch', state: 'waiting' })).toBe(
      batches.length - 1,
    );
    // A second sweep finds every claim's job (batch or single): nothing more is enqueued.
    expect((await t.app.get(ClaimSweeper).sweep(Date.now() + t.config.COUPON_PENDING_BOUND_MS + 1000)).reenqueued).toBe(
      0,
    );

    // A processing app drains them: 6 rows persisted, nothing pending, nothing waiting.
    await t.close();
    held = await startTestApp({ REDIS_PREFIX: ownPrefix });
    await until(
      '6 rows',
      () => rows(held!, couponId),
      (n) => n === 6,
      10_000,
    );
    const drained = await until(
      'pending gauge gone',
      samples,
      (now) => now.every((s) => !(s.name === 'pick_coupon_pending_claims' && s.labels.coupon === couponId)),
      5_000,
    );
    expect(delta('pick_coupon_claims_persisted_total', {}, drained)).toBe(6);
    expect(sumOf(drained, 'pick_queue_jobs', { queue: 'coupon-issuance', state: 'waiting' })).toBe(0);
    expect(sumOf(drained, 'pick_queue_jobs', { queue: 'coupon-issuance-batch', state: 'waiting' })).toBe(0);
    // The claim -> job records went with the pending marks.
    expect(await held!.app.get(Redis).hlen(keys.jobs)).toBe(0);
  });

  it('exports event-loop lag, memory and cache hits/misses', async () => {
    const t = held!;
    const { eventId } = await createEvent(t.http, admin, eventBody());
    await t.http.get(`/api/events/${eventId}`);
    await t.http.get(`/api/events/${eventId}`);
    const names = new Set((await samples()).map((s) => s.name));
    for (const name of [
      'pick_nodejs_eventloop_lag_p99_seconds',
      'pick_process_resident_memory_bytes',
      'pick_nodejs_heap_size_used_bytes',
      'pick_cache_hits_total',
      'pick_cache_misses_total',
    ]) {
      expect(names, name).toContain(name);
    }
  });
});
