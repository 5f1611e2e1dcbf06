/** Broadcast events between all workers of all servers (Redis transport); sent by `Broadcaster` (src/redis). */
export const BROADCAST_CLIENT = Symbol('BROADCAST_CLIENT');

export const BroadcastEvents = {
  PRODUCT_CHANGED: 'product.changed',
  COUPON_CHANGED: 'coupon.changed',
} as const;

/** Event name -> payload. The sender adds `scope` (its REDIS_PREFIX) to every message. */
export interface BroadcastEventMap {
  [BroadcastEvents.PRODUCT_CHANGED]: { productId: string };
  [BroadcastEvents.COUPON_CHANGED]: { eventId: string };
}

/** What a receiver gets: the payload plus the sender's REDIS_PREFIX (pub/sub channels are not per Redis db). */
export type BroadcastMessage<K extends keyof BroadcastEventMap> = BroadcastEventMap[K] & { scope: string };

export type ProductChangedEvent = BroadcastMessage<typeof BroadcastEvents.PRODUCT_CHANGED>;
export type CouponChangedEvent = BroadcastMessage<typeof BroadcastEvents.COUPON_CHANGED>;
