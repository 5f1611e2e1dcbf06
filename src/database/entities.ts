import { Product } from '../catalog/product.entity.js';
import { ProductImage } from '../catalog/product-image.entity.js';
import { Coupon } from '../coupons/coupon.entity.js';
import { CouponEvent } from '../coupons/coupon-event.entity.js';
import { CouponIssued } from '../coupons/coupon-issued.entity.js';
import { MemberCoupon } from '../coupons/member-coupon.entity.js';
import { MediaObject } from '../media/media-object.entity.js';
import { Member } from '../members/member.entity.js';

/** Every entity, listed once: the ORM config and the migrations read this. */
export const entities = [Member, Product, ProductImage, CouponEvent, Coupon, CouponIssued, MemberCoupon, MediaObject];
