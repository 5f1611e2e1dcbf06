import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { MembersModule } from '../members/members.module.js';
import { AccessTokens } from './access-tokens.js';
import { AuthController } from './auth.controller.js';
import { AuthGuard } from './auth.guard.js';
import { SessionRevocations } from './session-revocations.js';
import { SessionsService } from './sessions.service.js';
import { TokenSigning } from './token-signing.js';

@Global()
@Module({
  imports: [MembersModule],
  controllers: [AuthController],
  providers: [
    { provide: TokenSigning, inject: [APP_CONFIG], useFactory: (config: AppConfig) => new TokenSigning(config) },
    SessionRevocations,
    SessionsService,
    AccessTokens,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [SessionsService, TokenSigning, AccessTokens],
})
export class AuthModule {}
