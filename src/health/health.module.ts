import { EntityManager } from '@mikro-orm/mysql';
import { Module } from '@nestjs/common';
import { ReadinessRegistry } from '../common/readiness.js';
import { HealthController } from './health.controller.js';

/**
 * Liveness and readiness. Each dependency's check is registered by the module that owns it
 * (Redis, storage, the coupon queue); MySQL's here, since the ORM module is global and no feature owns it.
 */
@Module({ controllers: [HealthController] })
export class HealthModule {
  constructor(em: EntityManager, readiness: ReadinessRegistry) {
    readiness.register({ name: 'mysql', gates: true, probe: () => em.getConnection().execute('select 1') });
  }
}
