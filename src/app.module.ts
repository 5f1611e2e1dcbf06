import { MikroOrmModule } from '@mikro-orm/nestjs';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ClientsModule, Transport } from '@nestjs/microservices';
import type { AppConfig } from '../config/env.js';
import { ormOptions } from '../config/mikro-orm.js';
import { AuthModule } from './auth/auth.module.js';
import { AppCacheModule } from './cache/cache.module.js';
import { CatalogModule } from './catalog/catalog.module.js';
import { CouponsModule } from './coupons/coupons.module.js';
import { BROADCAST_CLIENT } from './common/broadcast.js';
import { ConfigModule } from './common/config.module.js';
import { ReadinessModule } from './common/readiness.js';
import { HotRoutesModule } from './http/hot-routes.js';
import { AllExceptionsFilter } from './common/exception.filter.js';
import { HealthModule } from './health/health.module.js';
import { MemberAdminModule } from './member-admin/member-admin.module.js';
import { MembersModule } from './members/members.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { QueueModule } from './queue/queue.module.js';
import { transportOptions } from './redis/transport.js';
import { RedisModule } from './redis/redis.module.js';
import { StorageModule } from './storage/storage.module.js';
import { ThrottleModule } from './throttle/throttle.module.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ReadinessModule,
        HotRoutesModule,
        // The request context is a Fastify hook (src/http/request-context.ts), on every route that wants one.
        MikroOrmModule.forRoot({ ...ormOptions(config), registerRequestContext: false }),
        RedisModule,
        AppCacheModule,
        QueueModule,
        StorageModule,
        ThrottleModule,
        ClientsModule.register({
          isGlobal: true,
          clients: [
            {
              name: BROADCAST_CLIENT,
              transport: Transport.REDIS,
              options: transportOptions(config),
            },
          ],
        }),
        MembersModule,
        AuthModule,
        MemberAdminModule,
        CatalogModule,
        CouponsModule,
        HealthModule,
        MetricsModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
