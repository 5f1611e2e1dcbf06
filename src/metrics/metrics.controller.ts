import { Controller, Get, Header, Headers, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { AppConfig } from '../../config/env.js';
import { Public } from '../auth/auth.decorators.js';
import { APP_CONFIG } from '../common/config.module.js';
import { AppError } from '../common/errors.js';
import { opsAuthorized } from '../common/ops-token.js';
import { metricsRegistry } from './metrics.js';

@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Prometheus text. With OPS_TOKEN set (always in production) only for `Authorization: Bearer <OPS_TOKEN>`. */
  @Public()
  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(@Headers('authorization') authorization: string | undefined): Promise<string> {
    if (!opsAuthorized(this.config, authorization))
      throw new AppError('UNAUTHORIZED', 'The metrics need the ops token (Authorization: Bearer <OPS_TOKEN>)');
    return metricsRegistry.metrics();
  }
}
