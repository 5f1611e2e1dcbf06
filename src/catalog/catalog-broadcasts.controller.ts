import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Broadcasts, type ProductChangedMessage } from '../common/broadcast.js';
import { CatalogCache } from './catalog-cache.js';

/** Broadcasts from every worker of every server (Redis transport), the sender included. */
@Controller()
export class CatalogBroadcastsController {
  constructor(private readonly cache: CatalogCache) {}

  @EventPattern(Broadcasts.PRODUCT_CHANGED)
  onProductChanged(@Payload() event: ProductChangedMessage): Promise<void> {
    return this.cache.onProductChanged(event);
  }
}
