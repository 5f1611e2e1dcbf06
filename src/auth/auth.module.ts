import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { MembersModule } from '../members/members.module.js';
import { AuthController } from './auth.controller.js';
import { AuthGuard } from './auth.guard.js';
import { ACCESS_JWT, REFRESH_JWT, TokenService } from './tokens.js';

@Global()
@Module({
  imports: [MembersModule],
  controllers: [AuthController],
  providers: [
    {
      provide: ACCESS_JWT,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        new JwtService({ secret: config.JWT_ACCESS_SECRET, signOptions: { expiresIn: config.JWT_ACCESS_TTL_SECONDS, algorithm: 'HS256' }, verifyOptions: { algorithms: ['HS256'] } }),
    },
    {
      provide: REFRESH_JWT,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        new JwtService({ secret: config.JWT_REFRESH_SECRET, signOptions: { expiresIn: config.JWT_REFRESH_TTL_SECONDS, algorithm: 'HS256' }, verifyOptions: { algorithms: ['HS256'] } }),
    },
    TokenService,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [TokenService],
})
export class AuthModule {}
