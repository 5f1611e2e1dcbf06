import { Module } from '@nestjs/common';
import { ProductsController, SellerProductsController } from './catalog.controller.js';
import { CatalogService } from './catalog.service.js';
import { ImageUrls } from './image-urls.js';

@Module({
  controllers: [ProductsController, SellerProductsController],
  providers: [CatalogService, ImageUrls],
  exports: [CatalogService, ImageUrls],
})
export class CatalogModule {}
