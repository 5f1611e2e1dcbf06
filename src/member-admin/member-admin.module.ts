import { Module } from '@nestjs/common';
import { AdminMembersController, AdminSellersController } from './member-admin.controller.js';
import { MemberAdminService } from './member-admin.service.js';

/** Admin endpoints over members (sellers' approval, bans, roles, deletion); sessions come from the global AuthModule. */
@Module({
  controllers: [AdminSellersController, AdminMembersController],
  providers: [MemberAdminService],
})
export class MemberAdminModule {}
