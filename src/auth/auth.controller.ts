import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { MembersService } from '../members/members.service.js';
import { CurrentMember, Public } from './auth.decorators.js';
import type { AuthMember } from './auth.decorators.js';
import { LoginDto, RefreshDto, SignupDto, SignupResultDto, TokenPairDto } from './auth.dto.js';
import { TokenService } from './tokens.js';

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly members: MembersService,
    private readonly tokens: TokenService,
  ) {}

  @Public()
  @Post('signup')
  async signup(@Body() body: SignupDto): Promise<SignupResultDto> {
    const member = await this.members.create(body);
    return { id: member.id, email: member.email, nickname: member.nickname, role: member.role };
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: LoginDto): Promise<TokenPairDto> {
    const member = await this.members.verifyCredentials(body.email, body.password);
    return this.tokens.issue(member.id, member.role);
  }

  @Public()
  @Post('token/refresh')
  @HttpCode(200)
  refresh(@Body() body: RefreshDto): Promise<TokenPairDto> {
    return this.tokens.rotate(body.refreshToken);
  }

  @ApiBearerAuth()
  @Post('logout')
  @HttpCode(204)
  async logout(@CurrentMember() member: AuthMember, @Body() body: RefreshDto): Promise<void> {
    await this.tokens.revoke(member.id, body.refreshToken);
  }
}
