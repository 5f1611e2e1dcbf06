import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/mysql';
import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { MediaObject, MediaObjectState } from './media-object.entity.js';
import { MediaReferences } from './media-references.js';
import { MEDIA_QUEUE, RELEASE_JOB, type ReleaseJob } from './media.service.js';

export type ReleaseOutcome = 'deleted' | 'kept';

/**
 * Deletes objects no product references any more. Per key, in its own transaction: lock the
 * record (FOR UPDATE), ask every registered user (MediaReferences: product_image) under a shared lock, mark DELETING, commit; then
 * delete the object and the record. Attach takes the same record lock first, so a product can
 * never end up pointing at a deleted object. Idempotent: a re-run deletes nothing twice and a
 * missing object is not an error.
 */
@Injectable()
export class MediaCleanupProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger('MediaCleanup');

  constructor(
    private readonly em: EntityManager,
    @Inject(S3Client) private readonly s3: S3Client,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(MEDIA_QUEUE) private readonly queue: Queue<ReleaseJob>,
    private readonly references: MediaReferences,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.QUEUE_PROCESSORS_ENABLED) return;
    this.queue
      .process(RELEASE_JOB, 2, (job: Job<ReleaseJob>) => this.release(job.data.keys))
      .catch((error: unknown) => this.logger.error(`media cleanup processor stopped: ${String(error)}`));
  }

  async release(keys: string[]): Promise<Record<string, ReleaseOutcome>> {
    const outcome: Record<string, ReleaseOutcome> = {};
    for (const key of keys) outcome[key] = await this.releaseOne(key);
    const deleted = Object.values(outcome).filter((o) => o === 'deleted').length;
    if (deleted > 0) this.logger.log(`deleted ${deleted} unreferenced object(s), kept ${keys.length - deleted}`);
    return outcome;
  }

  private async releaseOne(key: string): Promise<ReleaseOutcome> {
    const em = this.em.fork();
    const decision = await em.transactional(async (tx) => {
      const record = await tx.findOne(MediaObject, { objectKey: key }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const used = await this.references.used(tx, key);
      if (used) return 'kept' as const;
      if (record) record.state = MediaObjectState.DELETING;
      return 'deleted' as const;
    });
    if (decision === 'kept') return decision;
    // A failure here fails the job, which retries; the record stays DELETING (never attachable).
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.config.S3_BUCKET, Key: key }));
    await em.nativeDelete(MediaObject, { objectKey: key, state: MediaObjectState.DELETING });
    return decision;
  }
}
