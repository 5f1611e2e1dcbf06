import {
  BeforeApplicationShutdown,
  Controller,
  Get,
  Headers,
  Inject,
  OnModuleDestroy,
  OnModuleInit,
  Res,
} from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
  getSchemaPath,
  ApiExtraModels,
} from '@nestjs/swagger';
import { ApiErrors } from '../openapi/api-errors.js';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators.js';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { opsAuthorized } from '../common/ops-token.js';
import { ReadinessRegistry } from '../common/readiness.js';
import { setReadinessSource } from './health.metrics.js';

class CheckResultDto {
  @ApiProperty({ enum: ['up', 'down'] }) status: 'up' | 'down';
  @ApiPropertyOptional({ description: 'why it is down' }) error?: string;
  @ApiPropertyOptional({
    description:
      'what an up dependency reports (redis: version, role, AOF and appendfsync, whether claims are refused)',
  })
  detail?: string;
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
  @ApiPropertyOptional({ description: 'only for the ops token (or when OPS_TOKEN is unset)' }) draining?: boolean;
  @ApiPropertyOptional({ description: 'only for the ops token (or when OPS_TOKEN is unset)' })
  checks?: ReadinessChecksDto;
  @ApiPropertyOptional({
    type: [String],
    enum: ['storage'],
    description: 'dependencies down that do not gate readiness',
  })
  degraded?: 'storage'[];
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
    private readonly readiness: ReadinessRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    // Every check (storage too): the scrape is internal, and alerts should see what ops see.
    setReadinessSource(async () => {
      const { ok, results } = await this.readiness.runAll();
      return { ok: ok && !this.shuttingDown, results };
    });
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

  /**
   * 200 only when every dependency answers; 503 otherwise (and while draining). The checks (which
   * dependency is down, and why) only for `Authorization: Bearer <OPS_TOKEN>` when OPS_TOKEN is set:
   * anyone else (a load balancer's probe, a deploy gate) gets the status alone.
   */
  @Public()
  @Get('ready')
  @ApiOperation({
    operationId: 'ready',
    summary: 'The worker can serve: MySQL, Redis, the transport and the queue answer',
    description:
      'With OPS_TOKEN set on the server (always in production), `draining`, `checks` and `degraded` are only sent to `Authorization: Bearer <OPS_TOKEN>`; other callers get the status alone.',
  })
  @ApiOkResponse({ type: ReadyDto })
  @ApiResponse({
    status: 503,
    description: 'SERVICE_UNAVAILABLE: not ready, or shutting down',
    schema: { $ref: getSchemaPath(NotReadyDto) },
  })
  @ApiErrors()
  async ready(
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('authorization') authorization: string | undefined,
  ) {
    const details = opsAuthorized(this.config, authorization);
    // Checks that do not gate (storage) run for the detailed answer only: an anonymous caller must
    // not make every call cost an S3 request.
    const { ok: dependenciesUp, results, degraded } = await this.readiness.runAll({ gatingOnly: !details });
    const ok = !this.shuttingDown && dependenciesUp;
    const body = {
      status: ok ? 'ok' : 'unavailable',
      ...(details && { draining: this.shuttingDown, checks: results, ...(degraded.length > 0 && { degraded }) }),
    };
    if (ok) return body;
    // Set the status rather than throw: the exception filter would drop `checks`, which say what is down.
    void reply.status(503).header('retry-after', '1');
    return {
      statusCode: 503,
      code: 'SERVICE_UNAVAILABLE',
      message: 'not ready',
      ...body,
      requestId: String(reply.request.id),
    };
  }
}
