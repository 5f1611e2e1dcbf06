import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { MembersService } from '../members/members.service.js';
import { CurrentMember, Public } from './auth.decorators.js';
import type { AuthMember } from './auth.decorators.js';
import { LoginDto, RefreshDto, SignupDto, SignupResultDto, TokenPairDto } from './auth.dto.js';
import { TokenService } from './tokens.js';

// Both hash a password: past this worker's hashing cap they answer at once (PasswordHasher).
const HASHING_BUSY = { description: 'AUTH_BUSY: too many password hashes at once on this server; retry after `Retry-After` seconds' };

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly members: MembersService,
    private readonly tokens: TokenService,
  ) {}

  @Public()
  @Post('signup')
  @ApiServiceUnavailableResponse(HASHING_BUSY)
  async signup(@Body() body: SignupDto): Promise<SignupResultDto> {
    const member = await this.members.create(body);
    return { id: member.id, email: member.email, nickname: member.nickname, role: member.role };
  }

  @Public()
  @Post('login')
  @ApiServiceUnavailableResponse(HASHING_BUSY)
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
