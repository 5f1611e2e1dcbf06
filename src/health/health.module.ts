import { Module } from '@nestjs/common';
import { CouponsModule } from '../coupons/coupons.module.js';
import { HealthController } from './health.controller.js';

@Module({ imports: [CouponsModule], controllers: [HealthController] })
export class HealthModule {}
