import { Module } from '@nestjs/common';
import { MediaModule } from '../media/media.module.js';
import { ProductsController, SellerProductsController } from './catalog.controller.js';
import { CatalogService } from './catalog.service.js';
import { ImageUrls } from './image-urls.js';

@Module({
  imports: [MediaModule],
  controllers: [ProductsController, SellerProductsController],
  providers: [CatalogService, ImageUrls],
  exports: [CatalogService, ImageUrls],
})
export class CatalogModule {}
