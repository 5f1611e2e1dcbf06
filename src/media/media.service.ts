import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/mysql';
import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bull';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { AppConfig } from '../../config/env.js';
import type { AuthMember } from '../auth/auth.decorators.js';
import { APP_CONFIG } from '../common/config.module.js';
import { AppError } from '../common/errors.js';
import { Member, MemberRole } from '../members/member.entity.js';
import { storageUnavailable } from '../storage/storage.module.js';
import { ImageUrls } from './image-urls.js';
import { SNIFF_BYTES, sniffImageType, type ImageType } from './image-type.js';
import { MediaObject, MediaObjectState } from './media-object.entity.js';
import { withTimeout } from '../common/timeout.js';

export const MEDIA_QUEUE = 'media';
/** Job name: delete the given keys from storage, each only if no product references it. */
export const RELEASE_JOB = 'release';
export interface ReleaseJob {
  keys: string[];
}

/** Immutable keys (a new upload always gets a new uuid), so CDNs and browsers may cache for a year. */
export const IMAGE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

const QUEUE_TIMEOUT_MS = 2000;
/** Product changes queue their cleanup before commit; this lets the commit land before the job looks. */
const RELEASE_DELAY_MS = 1000;
const RELEASE_OPTIONS = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: true,
  removeOnFail: true,
};

// @fastify/multipart's limit errors, as our codes.
const MULTIPART_ERRORS: Record<string, (config: AppConfig) => AppError> = {
  FST_REQ_FILE_TOO_LARGE: (config) =>
    new AppError('FILE_TOO_LARGE', `An image is larger than ${config.UPLOAD_MAX_BYTES} bytes`),
  FST_FILES_LIMIT: (config) => new AppError('TOO_MANY_FILES', `At most ${config.UPLOAD_MAX_FILES} images per request`),
  FST_PARTS_LIMIT: (config) => new AppError('TOO_MANY_FILES', `At most ${config.UPLOAD_MAX_FILES} images per request`),
  FST_FIELDS_LIMIT: () => new AppError('UNEXPECTED_FIELD', 'Only the file field "files" is accepted'),
};

interface StoredFile {
  key: string;
  type: ImageType;
  size: number;
}

/** A queue call that must not hang a request: 503 SERVICE_UNAVAILABLE after QUEUE_TIMEOUT_MS. */
const queueCall = <T>(promise: Promise<T>, what: string): Promise<T> =>
  withTimeout(
    promise,
    QUEUE_TIMEOUT_MS,
    () => new AppError('SERVICE_UNAVAILABLE', `${what} did not answer; retry shortly`),
  );

/**
 * Product images: streamed upload to object storage, the record of stored objects that
 * products may reference, and the deferred deletion of objects no product uses any more.
 */
@Injectable()
export class MediaService {
  private readonly logger = new Logger('Media');

  constructor(
    private readonly em: EntityManager,
    @Inject(S3Client) private readonly s3: S3Client,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(MEDIA_QUEUE) private readonly queue: Queue<ReleaseJob>,
    private readonly urls: ImageUrls,
  ) {}

  /**
   * Streams every `files` part of a multipart request to storage and records the objects.
   * All or nothing: on any failure the objects already stored for this request are deleted
   * (or, if storage refuses even that, handed to the release job) and no record is written.
   */
  async upload(actor: AuthMember, request: FastifyRequest): Promise<string[]> {
    if (!request.isMultipart())
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the images as multipart/form-data in the field "files"');
    const attempted: string[] = [];
    const stored: StoredFile[] = [];
    try {
      for await (const part of request.parts()) {
        if (part.type !== 'file' || part.fieldname !== 'files') {
          if (part.type === 'file') part.file.resume();
          throw new AppError(
            'UNEXPECTED_FIELD',
            `Only the file field "files" is accepted, got "${part.fieldname.slice(0, 50)}"`,
          );
        }
        stored.push(await this.store(part, attempted));
      }
      if (stored.length === 0) throw new AppError('NO_FILES', 'No image in the field "files"');
      const em = this.em.fork();
      for (const file of stored) {
        em.create(MediaObject, {
          objectKey: file.key,
          contentType: file.type.contentType,
          sizeBytes: file.size,
          uploadedBy: em.getReference(Member, actor.id),
        });
      }
      await em.flush();
    } catch (error) {
      await this.discard(attempted);
      const code = (error as { code?: string }).code;
      // busboy's error for a body cut short is a plain Error, no code: the client's fault, not a 500.
      if (error instanceof Error && !code && /unexpected end of multipart data/i.test(error.message))
        throw new AppError('BAD_REQUEST', 'The multipart body ends before its closing boundary');
      throw (code && MULTIPART_ERRORS[code]?.(this.config)) || error;
    }
    return stored.map((file) => this.urls.url(file.key));
  }

  /** Sniffs the first bytes, then streams the rest (bounded memory: one part buffer) to storage. */
  private async store(part: MultipartFile, attempted: string[]): Promise<StoredFile> {
    const source = part.file[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let head = Buffer.alloc(0);
    let ended = false;
    while (head.length < SNIFF_BYTES) {
      const next = await source.next();
      if (next.done) {
        ended = true;
        break;
      }
      head = Buffer.concat([head, next.value]);
    }
    if (head.length === 0) throw new AppError('EMPTY_FILE', `"${part.filename.slice(0, 100)}" is empty`);
    const type = sniffImageType(head);
    if (!type)
      throw new AppError(
        'UNSUPPORTED_IMAGE_TYPE',
        `"${part.filename.slice(0, 100)}" is not a JPEG, PNG, WebP or GIF image`,
      );

    const key = `product/${randomUUID()}.${type.ext}`;
    // Whatever happens next, a late cleanup will look at this key: it is deleted unless a product uses it by then.
    await queueCall(
      this.queue.add(
        RELEASE_JOB,
        { keys: [key] },
        { ...RELEASE_OPTIONS, jobId: `unattached:${key}`, delay: this.config.UPLOAD_UNATTACHED_TTL_SECONDS * 1000 },
      ),
      'The job queue',
    );
    attempted.push(key);

    let size = head.length;
    const file = part.file;
    const limit = this.config.UPLOAD_MAX_BYTES;
    async function* body() {
      yield head;
      if (!ended) {
        for (let next = await source.next(); !next.done; next = await source.next()) {
          size += next.value.length;
          yield next.value;
        }
      }
      // @fastify/multipart truncates at the limit: refuse instead of storing a cut image.
      if (file.truncated)
        throw new AppError('FILE_TOO_LARGE', `"${part.filename.slice(0, 100)}" is larger than ${limit} bytes`);
    }
    try {
      await new Upload({
        client: this.s3,
        queueSize: 1,
        params: {
          Bucket: this.config.S3_BUCKET,
          Key: key,
          Body: Readable.from(body()),
          ContentType: type.contentType,
          CacheControl: IMAGE_CACHE_CONTROL,
        },
      }).done();
    } catch (error) {
      throw storageUnavailable(error);
    }
    return { key, type, size };
  }

  /** Best-effort immediate delete of a failed request's objects; the release job retries what storage refused. */
  private async discard(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const results = await Promise.allSettled(
      keys.map((key) => this.s3.send(new DeleteObjectCommand({ Bucket: this.config.S3_BUCKET, Key: key }))),
    );
    const left = keys.filter((_, i) => results[i].status === 'rejected');
    if (left.length > 0)
      await this.releaseLater(
        left,
        `upload-failed-${createHash('sha256').update(left.join()).digest('hex').slice(0, 32)}`,
      );
  }

  /**
   * Inside the caller's transaction (product create/update): locks the records of the keys a
   * product is about to reference, so the release job cannot delete them before this commits.
   * A key is attachable if it is STORED and was uploaded by the actor (or an admin acts, or the
   * product already uses it, or it is the app's own object).
   */
  async lockAttachable(
    actor: AuthMember,
    keys: string[],
    alreadyOnProduct: ReadonlySet<string> = new Set(),
  ): Promise<void> {
    const wanted = [...new Set(keys)];
    if (wanted.length === 0) return;
    const records = await this.em.find(
      MediaObject,
      { objectKey: { $in: wanted } },
      { lockMode: LockMode.PESSIMISTIC_READ },
    );
    const byKey = new Map(records.map((record) => [record.objectKey, record]));
    const refused = wanted.filter((key) => {
      const record = byKey.get(key);
      if (!record || record.state !== MediaObjectState.STORED) return true;
      const owner = record.uploadedBy?.id;
      return !(
        actor.role === MemberRole.ADMIN ||
        owner == null ||
        String(owner) === String(actor.id) ||
        alreadyOnProduct.has(key)
      );
    });
    if (refused.length > 0) {
      throw new AppError('IMAGE_NOT_FOUND', 'An image must be one you uploaded with POST /api/seller/products/images', [
        { field: 'images', errors: refused.map((key) => `not an uploaded image: ${this.urls.url(key)}`) },
      ]);
    }
  }

  /**
   * Queues the deletion of `keys` a product stopped referencing (`event` names that change, e.g.
   * `product-7-deleted`: the deterministic job id). Safe to call inside the product transaction,
   * before commit: the job decides from committed rows under locks, so after a rollback it just
   * keeps the objects; the delay lets the commit land first. Never fails the caller: an object
   * left behind is garbage, a product pointing at a deleted object would be a bug.
   */
  async releaseLater(keys: string[], event: string): Promise<void> {
    const unique = [...new Set(keys)].sort();
    if (unique.length === 0) return;
    try {
      await queueCall(
        this.queue.add(
          RELEASE_JOB,
          { keys: unique },
          { ...RELEASE_OPTIONS, jobId: `release:${event}`, delay: RELEASE_DELAY_MS },
        ),
        'The job queue',
      );
    } catch (error) {
      this.logger.warn(
        `could not queue deletion of ${unique.length} object(s) (${unique.join(', ')}): ${(error as Error).message}`,
      );
    }
  }
}
