import { BeforeApplicationShutdown, Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiResponse, ApiTags, getSchemaPath, ApiExtraModels } from '@nestjs/swagger';
import { ApiErrors } from '../openapi/api-errors.js';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators.js';
import { ReadinessRegistry } from '../common/readiness.js';

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
export class HealthController implements BeforeApplicationShutdown {
  private shuttingDown = false;

  constructor(private readonly readiness: ReadinessRegistry) {}

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
    const { ok: dependenciesUp, results, degraded } = await this.readiness.runAll();
    const ok = !this.shuttingDown && dependenciesUp;
    const body = { status: ok ? 'ok' : 'unavailable', draining: this.shuttingDown, checks: results, ...(degraded.length > 0 && { degraded }) };
    if (ok) return body;
    // Set the status rather than throw: the exception filter would drop `checks`, which say what is down.
    void reply.status(503);
    return { statusCode: 503, code: 'SERVICE_UNAVAILABLE', message: 'not ready', ...body, requestId: String(reply.request.id) };
  }
}
