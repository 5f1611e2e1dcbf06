import { Module } from '@nestjs/common';
import { MediaModule } from '../media/media.module.js';
import { CatalogCache } from './catalog-cache.js';
import { CatalogEventsController } from './catalog-events.controller.js';
import { ProductsController, SellerProductsController } from './catalog.controller.js';
import { CatalogService } from './catalog.service.js';
import { ImageUrls } from './image-urls.js';

@Module({
  imports: [MediaModule],
  controllers: [ProductsController, SellerProductsController, CatalogEventsController],
  providers: [CatalogService, ImageUrls, CatalogCache],
  exports: [CatalogService, ImageUrls, CatalogCache],
})
export class CatalogModule {}
