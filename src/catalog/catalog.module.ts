import { Module } from '@nestjs/common';
import { HotRoutes } from '../http/hot-routes.js';
import { MediaModule } from '../media/media.module.js';
import { CatalogCache } from './catalog-cache.js';
import { CatalogFastPath } from './catalog-fast-path.js';
import { CatalogBroadcastsController } from './catalog-broadcasts.controller.js';
import { ProductsController, SellerProductsController } from './catalog.controller.js';
import { CatalogService } from './catalog.service.js';
import { ProductImageReferences } from './product-image.references.js';

@Module({
  imports: [MediaModule],
  controllers: [ProductsController, SellerProductsController, CatalogBroadcastsController],
  providers: [CatalogService, CatalogCache, CatalogFastPath, ProductImageReferences],
  exports: [CatalogService, CatalogCache],
})
export class CatalogModule {
  constructor(hotRoutes: HotRoutes, fastPath: CatalogFastPath) {
    // Cache hits of the public reads, answered before Nest's pipeline (catalog-fast-path.ts).
    for (const route of fastPath.hotRoutes()) hotRoutes.register(route);
  }
}
