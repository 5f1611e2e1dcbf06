import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { ImageUrls } from './image-urls.js';
import { MediaCleanupProcessor } from './media-cleanup.processor.js';
import { MediaReferences } from './media-references.js';
import { MediaController } from './media.controller.js';
import { MEDIA_QUEUE, MediaService } from './media.service.js';

/**
 * Image upload, public URLs of stored objects, and the cleanup of objects nothing uses (queue
 * `media`). Its users (the catalog) import it and register what references an object.
 */
@Module({
  imports: [BullModule.registerQueue({ name: MEDIA_QUEUE })],
  controllers: [MediaController],
  providers: [MediaService, MediaCleanupProcessor, ImageUrls, MediaReferences],
  exports: [MediaService, ImageUrls, MediaReferences],
})
export class MediaModule {}
