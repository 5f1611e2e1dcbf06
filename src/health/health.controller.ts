import { S3Client } from '@aws-sdk/client-s3';
import { InjectQueue } from '@nestjs/bull';
import type { Queue } from 'bull';
import { EntityManager } from '@mikro-orm/mysql';
import { BeforeApplicationShutdown, Controller, Get, Inject, OnModuleDestroy, OnModuleInit, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiResponse, ApiTags, getSchemaPath, ApiExtraModels } from '@nestjs/swagger';
import { ApiErrors } from '../openapi/api-errors.js';
import type { FastifyReply } from 'fastify';
import { Redis } from 'ioredis';
import type { AppConfig } from '../../config/env.js';
import { Public } from '../auth/auth.decorators.js';
import { APP_CONFIG } from '../common/config.module.js';
import { probeBucket } from '../storage/storage.module.js';
import { ISSUANCE_QUEUE } from '../coupons/issuance.queue.js';
import { TransportState } from '../redis/transport-state.js';
import { setReadinessSource } from './health.metrics.js';

type CheckResult = { status: 'up' } | { status: 'down'; error: string };

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref())]);

async function check(probe: () => Promise<unknown>): Promise<CheckResult> {
  try {
    await withTimeout(probe(), 1500);
    return { status: 'up' };
  } catch (error) {
    return { status: 'down', error: error instanceof Error ? error.message : String(error) };
  }
}

class CheckResultDto {
  @ApiProperty({ enum: ['up', 'down'] }) status: 'up' | 'down';
  @ApiPropertyOptional({ description: 'why it is down' }) error?: string;
}

class ReadinessChecksDto {
  @ApiProperty() mysql: CheckResultDto;
  @ApiProperty() redis: CheckResultDto;
  @ApiProperty({ description: 'the broadcast transport (cache invalidation)' }) transport: CheckResultDto;
  @ApiProperty({ description: 'the claim persistence queue' }) queue: CheckResultDto;
  @ApiProperty({ description: 'reported, does not gate readiness' }) storage: CheckResultDto;
}

class ReadyDto {
  @ApiProperty({ enum: ['ok'] }) status: 'ok';
  @ApiProperty() draining: boolean;
  @ApiProperty() checks: ReadinessChecksDto;
  @ApiPropertyOptional({ type: [String], enum: ['storage'], description: 'dependencies down that do not gate readiness' }) degraded?: 'storage'[];
}

/** 503 from /health/ready: the error body plus what is down (without checks while the worker shuts down). */
class NotReadyDto {
  @ApiProperty({ type: 'integer', enum: [503] }) statusCode: 503;
  @ApiProperty({ enum: ['SERVICE_UNAVAILABLE'] }) code: 'SERVICE_UNAVAILABLE';
  @ApiProperty() message: string;
  @ApiProperty() requestId: string;
  @ApiPropertyOptional({ enum: ['unavailable'] }) status?: 'unavailable';
  @ApiPropertyOptional() draining?: boolean;
  @ApiPropertyOptional() checks?: ReadinessChecksDto;
  @ApiPropertyOptional({ type: [String], enum: ['storage'] }) degraded?: 'storage'[];
}

class LiveDto {
  @ApiProperty({ enum: ['ok'] }) status: 'ok';
}

@ApiTags('ops')
@ApiExtraModels(NotReadyDto)
@Controller('health')
export class HealthController implements BeforeApplicationShutdown, OnModuleInit, OnModuleDestroy {
  private shuttingDown = false;

  constructor(
    private readonly em: EntityManager,
    private readonly redis: Redis,
    @Inject(S3Client) private readonly s3: S3Client,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly transport: TransportState,
    @InjectQueue(ISSUANCE_QUEUE) private readonly issuance: Queue,
  ) {}

  onModuleInit(): void {
    setReadinessSource(() => this.readiness());
  }

  onModuleDestroy(): void {
    setReadinessSource(undefined);
  }

  // Before the HTTP server closes (onApplicationShutdown runs after it, when nobody can ask any more).
  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
  }

  @Public()
  @Get('live')
  @ApiOperation({ operationId: 'live', summary: 'The worker answers' })
  @ApiOkResponse({ type: LiveDto })
  @ApiErrors()
  live() {
    return { status: 'ok' };
  }

  /** 200 only when every dependency answers; 503 with the failing ones otherwise (and while draining). */
  @Public()
  @Get('ready')
  @ApiOperation({ operationId: 'ready', summary: 'The worker can serve: MySQL, Redis, the transport and the queue answer' })
  @ApiOkResponse({ type: ReadyDto })
  @ApiResponse({ status: 503, description: 'SERVICE_UNAVAILABLE: not ready, or shutting down', schema: { $ref: getSchemaPath(NotReadyDto) } })
  @ApiErrors()
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const { checks, storage, ok } = await this.readiness();
    const body = { status: ok ? 'ok' : 'unavailable', draining: this.shuttingDown, checks: { ...checks, storage }, ...(storage.status === 'down' && { degraded: ['storage'] }) };
    if (ok) return body;
    // Set the status rather than throw: the exception filter would drop `checks`, which say what is down.
    void reply.status(503);
    return { statusCode: 503, code: 'SERVICE_UNAVAILABLE', message: 'not ready', ...body, requestId: String(reply.request.id) };
  }

  /** The readiness checks (also read at each metrics scrape: pick_ready, pick_readiness_check_up). */
  async readiness() {
    const [mysql, redis, transport, queue, storage] = await Promise.all([
      check(() => this.em.getConnection().execute('select 1')),
      check(() => this.redis.ping()),
      // the broadcast transport (cache invalidation): its subscriber and publisher connections
      check(async () => this.transport.assertUp()),
      // the claim persistence queue's own Redis connection
      check(() => this.issuance.client.ping()),
      // Object storage is reported but does not gate readiness: browsing and coupon claims do not
      // need it, and taking every worker out of the load balancer would turn an upload outage into a full one.
      check(async () => {
        const problem = await probeBucket(this.s3, this.config.S3_BUCKET, 1500);
        if (problem) throw new Error(problem);
      }),
    ]);
    const checks = { mysql, redis, transport, queue };
    const ok = !this.shuttingDown && Object.values(checks).every((result) => result.status === 'up');
    return { checks, storage, ok };
  }
}
