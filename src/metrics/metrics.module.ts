import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller.js';
import { OpsServer } from './ops-server.js';

/** The public /metrics route and each worker's internal metrics listener (OPS_PORT + instance). */
@Module({ controllers: [MetricsController], providers: [OpsServer] })
export class MetricsModule {}
