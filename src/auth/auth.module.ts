import { createSecretKey } from 'node:crypto';
import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { MembersModule } from '../members/members.module.js';
import { AuthController } from './auth.controller.js';
import { AuthGuard } from './auth.guard.js';
import { ACCESS_JWT, REFRESH_JWT, TokenService } from './tokens.js';

// A KeyObject, not the string: jsonwebtoken otherwise tries createPublicKey() on every verify,
// which cost ~8 % of a worker's CPU in the coupon-rush profile.
const hmacKey = (secret: string) => createSecretKey(Buffer.from(secret, 'utf8')) as unknown as Buffer;

@Global()
@Module({
  imports: [MembersModule],
  controllers: [AuthController],
  providers: [
    {
      provide: ACCESS_JWT,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        new JwtService({ secret: hmacKey(config.JWT_ACCESS_SECRET), signOptions: { expiresIn: config.JWT_ACCESS_TTL_SECONDS, algorithm: 'HS256' }, verifyOptions: { algorithms: ['HS256'] } }),
    },
    {
      provide: REFRESH_JWT,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        new JwtService({ secret: hmacKey(config.JWT_REFRESH_SECRET), signOptions: { expiresIn: config.JWT_REFRESH_TTL_SECONDS, algorithm: 'HS256' }, verifyOptions: { algorithms: ['HS256'] } }),
    },
    TokenService,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [TokenService],
})
export class AuthModule {}
