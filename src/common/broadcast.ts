/** Broadcast events between all workers of all servers (Redis transport). */
export const BROADCAST_CLIENT = Symbol('BROADCAST_CLIENT');

export const BroadcastEvents = {
  PRODUCT_CHANGED: 'product.changed',
  COUPON_CHANGED: 'coupon.changed',
} as const;

export interface ProductChangedEvent {
  productId: string;
}

export interface CouponChangedEvent {
  eventId: string;
}
