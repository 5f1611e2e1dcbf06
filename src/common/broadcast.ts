/** Broadcast events between all workers of all servers (Redis transport). */
export const BROADCAST_CLIENT = Symbol('BROADCAST_CLIENT');

export const BroadcastEvents = {
  PRODUCT_CHANGED: 'product.changed',
  COUPON_CHANGED: 'coupon.changed',
} as const;

export interface ProductChangedEvent {
  productId: string;
  /** REDIS_PREFIX of the sender: pub/sub channels are not per Redis db, so deployments sharing a Redis ignore each other's events. */
  scope: string;
}

export interface CouponChangedEvent {
  eventId: string;
  /** REDIS_PREFIX of the sender (see ProductChangedEvent). */
  scope: string;
}
