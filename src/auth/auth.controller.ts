import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../common/errors.js';
import { NoBody } from '../common/validation.js';
import { initialSellerStatus } from '../members/member.entity.js';
import { MembersService } from '../members/members.service.js';
import { CurrentMember, Public } from './auth.decorators.js';
import type { AuthMember } from './auth.decorators.js';
import { LoginDto, RefreshDto, SignupDto, SignupResultDto, TokenPairDto } from './auth.dto.js';
import { SessionsService } from './sessions.service.js';
import { ApiErrors, JSON_BODY, MEMBER_ONLY } from '../openapi/api-errors.js';
import { LoginLimits } from '../throttle/login-limits.js';
import { Throttled } from '../throttle/throttle.guard.js';

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly members: MembersService,
    private readonly sessions: SessionsService,
    private readonly loginLimits: LoginLimits,
  ) {}

  @Public()
  @Throttled('signup')
  @Post('signup')
  @ApiOperation({ operationId: 'signup', summary: 'Sign up as a customer or a seller' })
  @ApiCreatedResponse({ type: SignupResultDto, description: 'The new member' })
  // Both signup and login hash a password: past this worker's hashing cap they answer AUTH_BUSY at once.
  @ApiErrors(JSON_BODY, 'EMAIL_TAKEN', 'NICKNAME_TAKEN', 'PHONE_TAKEN', 'AUTH_BUSY', 'TOO_MANY_REQUESTS')
  async signup(@Body() body: SignupDto): Promise<SignupResultDto> {
    const member = await this.members.create({ ...body, sellerStatus: initialSellerStatus(body.role) });
    return {
      id: member.id,
      email: member.email,
      nickname: member.nickname,
      role: member.role,
      ...(member.sellerStatus ? { sellerStatus: member.sellerStatus } : {}),
    };
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiOperation({ operationId: 'login', summary: 'Log in: an access token (30 min) and a refresh token' })
  @ApiOkResponse({ type: TokenPairDto })
  // Failed logins are limited per client IP and per email (src/throttle): 429 with Retry-After, held a moment.
  @ApiErrors(JSON_BODY, 'INVALID_CREDENTIALS', 'MEMBER_BANNED', 'AUTH_BUSY', 'TOO_MANY_REQUESTS')
  async login(@Body() body: LoginDto, @Req() request: FastifyRequest): Promise<TokenPairDto> {
    const attempt = await this.loginLimits.attempt(request.ip, body.email);
    const member = await this.members.verifyCredentials(body.email, body.password).catch((error: unknown) => {
      if (!(error instanceof AppError && error.code === 'INVALID_CREDENTIALS')) attempt.refund();
      throw error;
    });
    attempt.refund();
    return this.sessions.open(member);
  }

  @Public()
  @Throttled('refresh')
  @Post('token/refresh')
  @HttpCode(200)
  @ApiOperation({ operationId: 'refreshTokens', summary: 'Rotate: a new pair; the refresh token sent stops working' })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiErrors(
    JSON_BODY,
    'INVALID_TOKEN',
    'TOKEN_EXPIRED',
    'REFRESH_TOKEN_REVOKED',
    'SESSION_ENDED',
    'MEMBER_BANNED',
    'TOO_MANY_REQUESTS',
  )
  refresh(@Body() body: RefreshDto): Promise<TokenPairDto> {
    return this.sessions.refresh(body.refreshToken);
  }

  @ApiBearerAuth()
  @Post('logout')
  @HttpCode(204)
  @ApiOperation({ operationId: 'logout', summary: 'Revoke a refresh token of the caller', description: 'Any member.' })
  @ApiNoContentResponse({ description: 'Revoked (also when it already was)' })
  @ApiErrors(MEMBER_ONLY, JSON_BODY)
  async logout(@CurrentMember() member: AuthMember, @Body() body: RefreshDto): Promise<void> {
    await this.sessions.close(member.id, body.refreshToken);
  }

  /** Ends every session of the caller, on every device (refresh tokens and access tokens). */
  @ApiBearerAuth()
  @Post('logout-all')
  @HttpCode(204)
  @ApiOperation({
    operationId: 'logoutAll',
    summary: 'End every session of the caller (refresh and access tokens)',
    description: 'Any member.',
  })
  @ApiNoContentResponse({ description: 'Every session ended' })
  @ApiErrors(MEMBER_ONLY, JSON_BODY)
  async logoutAll(@CurrentMember() member: AuthMember, @Body(NoBody) _body: undefined): Promise<void> {
    await this.sessions.closeAll(member.id);
  }
}
