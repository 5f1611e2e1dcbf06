/** Broadcasts between all workers of all servers (Redis transport); sent by `Broadcaster` (src/cache/broadcaster.ts). */
export const BROADCAST_CLIENT = Symbol('BROADCAST_CLIENT');

export const Broadcasts = {
  PRODUCT_CHANGED: 'product.changed',
  COUPON_CHANGED: 'coupon.changed',
} as const;

/** Broadcast name -> payload. The sender adds `scope` (its REDIS_PREFIX) to every message. */
export interface BroadcastMap {
  [Broadcasts.PRODUCT_CHANGED]: { productId: string };
  [Broadcasts.COUPON_CHANGED]: { eventId: string };
}

/** What a receiver gets: the payload plus the sender's REDIS_PREFIX (pub/sub channels are not per Redis db). */
export type BroadcastMessage<K extends keyof BroadcastMap> = BroadcastMap[K] & { scope: string };

export type ProductChangedMessage = BroadcastMessage<typeof Broadcasts.PRODUCT_CHANGED>;
export type CouponChangedMessage = BroadcastMessage<typeof Broadcasts.COUPON_CHANGED>;
