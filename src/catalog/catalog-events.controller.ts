import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { BroadcastEvents, type ProductChangedEvent } from '../common/broadcast.js';
import { CatalogCache } from './catalog-cache.js';

/** Broadcasts from every worker of every server (Redis transport), the sender included. */
@Controller()
export class CatalogEventsController {
  constructor(private readonly cache: CatalogCache) {}

  @EventPattern(BroadcastEvents.PRODUCT_CHANGED)
  onProductChanged(@Payload() event: ProductChangedEvent): Promise<void> {
    return this.cache.onProductChanged(event);
  }
}
