import { HeadBucketCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Global, Inject, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { AppError } from '../common/errors.js';
import { ReadinessRegistry } from '../common/readiness.js';

/** The one S3 client of the process (NCP Object Storage in production, s3rver locally), injected as `S3Client`. */
export function createS3Client(config: AppConfig): S3Client {
  return new S3Client({
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    credentials: { accessKeyId: config.S3_ACCESS_KEY, secretAccessKey: config.S3_SECRET_KEY },
    // The SDK's default CRC32 "aws-chunked" bodies are not understood by every S3-compatible
    // store (s3rver stores the chunk framing as the object): checksum only where S3 requires one.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
    // A dead endpoint must fail a request in seconds, not hang it.
    requestHandler: { connectionTimeout: 2000, requestTimeout: 30_000 },
  });
}

/** Turns any storage failure into the client-facing 503; AppErrors pass through. */
export function storageUnavailable(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const status = error instanceof S3ServiceException ? ` (${error.name} ${error.$metadata.httpStatusCode ?? ''})` : '';
  // The cause goes to the server log (the filter logs 5xx with the error), not to the client.
  return Object.assign(new AppError('STORAGE_UNAVAILABLE', `Object storage is unavailable${status}; retry shortly`), {
    cause: error,
  });
}

/** Checks that the bucket answers; resolves with an error message or undefined. */
export async function probeBucket(s3: S3Client, bucket: string, timeoutMs = 2000): Promise<string | undefined> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: AbortSignal.timeout(timeoutMs) });
    return undefined;
  } catch (error) {
    if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404)
      return `bucket "${bucket}" does not exist`;
    if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 403)
      return `access to bucket "${bucket}" denied`;
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
}

@Global()
@Module({
  providers: [{ provide: S3Client, inject: [APP_CONFIG], useFactory: createS3Client }],
  exports: [S3Client],
})
export class StorageModule implements OnApplicationBootstrap {
  private readonly logger = new Logger('Storage');

  constructor(
    @Inject(S3Client) private readonly s3: S3Client,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    readiness: ReadinessRegistry,
  ) {
    // Reported, but it does not gate readiness: browsing and coupon claims do not need storage, and
    // taking every worker out of the load balancer would turn an upload outage into a full one.
    readiness.register({
      name: 'storage',
      gates: false,
      probe: async () => {
        const problem = await probeBucket(this.s3, this.config.S3_BUCKET, 1500);
        if (problem) throw new Error(problem);
      },
    });
  }

  /**
   * Start-up check: logs the outcome but never throws, so a storage blip does not turn into a
   * PM2 crash loop; uploads answer 503 STORAGE_UNAVAILABLE until the bucket answers again.
   */
  async onApplicationBootstrap(): Promise<void> {
    const problem = await probeBucket(this.s3, this.config.S3_BUCKET);
    if (problem)
      this.logger.error(
        `object storage ${this.config.S3_ENDPOINT} not usable: ${problem}; image uploads will fail with 503 until it is`,
      );
    else this.logger.log(`object storage ok: bucket "${this.config.S3_BUCKET}" at ${this.config.S3_ENDPOINT}`);
  }

  // No s3.destroy() on shutdown: Bull closes its queues in the same hook and an active cleanup
  // job may still be deleting objects; idle keep-alive sockets are unref'd and do not hold the process.
}
