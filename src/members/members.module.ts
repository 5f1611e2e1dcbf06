import { Module } from '@nestjs/common';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { MembersService } from './members.service.js';
import { PasswordHasher } from './password-hasher.js';

@Module({
  providers: [
    MembersService,
    { provide: PasswordHasher, inject: [APP_CONFIG], useFactory: (config: AppConfig) => new PasswordHasher(config) },
  ],
  exports: [MembersService, PasswordHasher],
})
export class MembersModule {}
