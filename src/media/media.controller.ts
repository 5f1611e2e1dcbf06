import { Controller, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiCreatedResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApprovedSeller, CurrentMember, Roles } from '../auth/auth.decorators.js';
import type { AuthMember } from '../auth/auth.decorators.js';
import { MemberRole } from '../members/member.entity.js';
import { MediaService } from './media.service.js';

export class UploadedImagesDto {
  @ApiProperty({ type: [String], description: 'public URLs, to pass as `images[].url` when creating or updating a product' })
  imageUrls: string[];
}

@ApiTags('seller')
@ApiBearerAuth()
@Roles(MemberRole.SELLER, MemberRole.ADMIN)
@ApprovedSeller()
@Controller('api/seller/products/images')
export class MediaController {
  constructor(private readonly media: MediaService) {}

  @Post()
  @ApiConsumes('multipart/form-data')
  @ApiBody({ schema: { type: 'object', properties: { files: { type: 'array', items: { type: 'string', format: 'binary' } } } } })
  @ApiCreatedResponse({ type: UploadedImagesDto })
  async upload(@CurrentMember() actor: AuthMember, @Req() request: FastifyRequest): Promise<UploadedImagesDto> {
    return { imageUrls: await this.media.upload(actor, request) };
  }
}
