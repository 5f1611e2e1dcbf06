import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { NoBody } from '../common/validation.js';
import { initialSellerStatus } from '../members/member.entity.js';
import { MembersService } from '../members/members.service.js';
import { CurrentMember, Public } from './auth.decorators.js';
import type { AuthMember } from './auth.decorators.js';
import { LoginDto, RefreshDto, SignupDto, SignupResultDto, TokenPairDto } from './auth.dto.js';
import { SessionsService } from './sessions.service.js';

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly members: MembersService,
    private readonly sessions: SessionsService,
  ) {}

  /** A SELLER signs up pending: an admin approves them before they can write products. */
  @Public()
  @Post('signup')
  async signup(@Body() body: SignupDto): Promise<SignupResultDto> {
    const member = await this.members.create({ ...body, sellerStatus: initialSellerStatus(body.role) });
    return { id: member.id, email: member.email, nickname: member.nickname, role: member.role, ...(member.sellerStatus ? { sellerStatus: member.sellerStatus } : {}) };
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: LoginDto): Promise<TokenPairDto> {
    const member = await this.members.verifyCredentials(body.email, body.password);
    return this.sessions.open(member);
  }

  @Public()
  @Post('token/refresh')
  @HttpCode(200)
  refresh(@Body() body: RefreshDto): Promise<TokenPairDto> {
    return this.sessions.refresh(body.refreshToken);
  }

  @ApiBearerAuth()
  @Post('logout')
  @HttpCode(204)
  async logout(@CurrentMember() member: AuthMember, @Body() body: RefreshDto): Promise<void> {
    await this.sessions.close(member.id, body.refreshToken);
  }

  /** Ends every session of the caller, on every device (refresh tokens and access tokens). */
  @ApiBearerAuth()
  @Post('logout-all')
  @HttpCode(204)
  async logoutAll(@CurrentMember() member: AuthMember, @Body(NoBody) _body: undefined): Promise<void> {
    await this.sessions.closeAll(member.id);
  }
}
