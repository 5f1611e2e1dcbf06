import { Controller, Post, Req } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { APPROVED_SELLER_ONLY, ApiErrors } from '../openapi/api-errors.js';
import { READS_MULTIPART } from '../http/route-config.js';
import type { FastifyRequest } from 'fastify';
import { ApprovedSeller, CurrentMember, Roles } from '../auth/auth.decorators.js';
import type { AuthMember } from '../auth/auth.decorators.js';
import { MemberRole } from '../members/member.entity.js';
import { MediaService } from './media.service.js';
import { Throttled } from '../throttle/throttle.guard.js';

export class UploadedImagesDto {
  @ApiProperty({
    type: [String],
    minItems: 1,
    example: ['https://cdn.example.com/product/0b6f4c1e-3d5a-4f0e-9a51-2c7d8e9f0a1b.jpg'],
    description: 'public URLs, to pass as `images[].url` when creating or updating a product',
  })
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
  @Throttled('upload')
  @ApiOperation({
    operationId: 'uploadProductImages',
    summary: 'Upload product images',
    description:
      'Roles: SELLER or ADMIN. JPEG, PNG, WebP or GIF (checked by content), size- and count-limited (UPLOAD_MAX_BYTES, UPLOAD_MAX_FILES).',
  })
  @ApiConsumes('multipart/form-data')
  @RouteConfig(READS_MULTIPART)
  @ApiBody({
    schema: {
      type: 'object',
      required: ['files'],
      properties: {
        files: {
          type: 'array',
          minItems: 1,
          items: { type: 'string', format: 'binary' },
          description: 'the images; no other field is accepted',
        },
      },
    },
  })
  @ApiCreatedResponse({ type: UploadedImagesDto, description: 'The stored images, in the order sent' })
  @ApiErrors(
    APPROVED_SELLER_ONLY,
    'NO_FILES',
    'EMPTY_FILE',
    'UNEXPECTED_FIELD',
    'FILE_TOO_LARGE',
    'TOO_MANY_FILES',
    'PAYLOAD_TOO_LARGE',
    'UNSUPPORTED_IMAGE_TYPE',
    'STORAGE_UNAVAILABLE',
    'TOO_MANY_REQUESTS',
  )
  async upload(@CurrentMember() actor: AuthMember, @Req() request: FastifyRequest): Promise<UploadedImagesDto> {
    return { imageUrls: await this.media.upload(actor, request) };
  }
}
