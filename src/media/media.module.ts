import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { ImageUrls } from '../catalog/image-urls.js';
import { MediaCleanupProcessor } from './media-cleanup.processor.js';
import { MediaController } from './media.controller.js';
import { MEDIA_QUEUE, MediaService } from './media.service.js';

/** Product image upload and the cleanup of objects no product uses (queue `media`). */
@Module({
  imports: [BullModule.registerQueue({ name: MEDIA_QUEUE })],
  controllers: [MediaController],
  providers: [MediaService, MediaCleanupProcessor, ImageUrls],
  exports: [MediaService],
})
export class MediaModule {}
