/**
 * Local demo data (`npm run seed`), like the original: customer/seller/admin@email.com with
 * password "password", 200 products with images, one running event with one coupon of 10,000.
 * Safe to re-run (adds only what is missing); refused with NODE_ENV=production.
 */
import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/mysql';
import { assertNodeVersion, loadConfig } from '../../config/env.js';
import { ormOptions } from '../../config/mikro-orm.js';
import { Product, ProductCategory, ProductStatus } from '../catalog/product.entity.js';
import { ProductImage, ProductImageType } from '../catalog/product-image.entity.js';
import { Coupon, DiscountType } from '../coupons/coupon.entity.js';
import { CouponEvent } from '../coupons/coupon-event.entity.js';
import { MediaObject } from '../media/media-object.entity.js';
import { initialSellerStatus, Member, MemberRole, SellerStatus } from '../members/member.entity.js';
import { PasswordHasher } from '../members/password-hasher.js';
import { DEMO_IMAGES } from '../storage/demo-images.js';
import { exitOnConfigError } from './cli-support.js';

export const DEMO_PASSWORD = 'password';
export const DEMO_EVENT_TITLE = 'Pick grand opening';
const DEMO_PRODUCTS = 200;
const DAY = 24 * 3600 * 1000;

async function main(): Promise<void> {
  assertNodeVersion();
  const config = loadConfig();
  if (config.NODE_ENV === 'production') throw new Error('demo data is never seeded in production');
  const orm = await MikroORM.init(ormOptions(config));
  const em = orm.em.fork();
  try {
    const hash = await new PasswordHasher(config).hash(DEMO_PASSWORD);
    const members = {} as Record<MemberRole, Member>;
    for (const [index, role] of [MemberRole.CUSTOMER, MemberRole.SELLER, MemberRole.ADMIN].entries()) {
      const email = `${role.toLowerCase()}@email.com`;
      members[role] =
        (await em.findOne(Member, { email })) ??
        em.create(Member, {
          email,
          nickname: role.toLowerCase(),
          phone: `010-0000-000${index}`,
          name: `Demo ${role.toLowerCase()}`,
          address: 'Seoul',
          passwordHash: hash,
          role,
          sellerStatus: initialSellerStatus(role),
        });
    }
    // The demo seller is approved (also when an earlier seed created it pending).
    members.SELLER.sellerStatus = SellerStatus.APPROVED;
    await em.flush();

    // The demo images (uploaded to local storage by deploy/local/s3.sh) are recorded like uploads,
    // so products may reference them; no uploader: the app's own objects.
    for (const [objectKey, body] of Object.entries(DEMO_IMAGES)) {
      if (!(await em.count(MediaObject, { objectKey })))
        em.create(MediaObject, { objectKey, contentType: 'image/png', sizeBytes: body.length, uploadedBy: null });
    }
    await em.flush();

    const existing = await em.count(Product, { seller: members.SELLER });
    const categories = Object.values(ProductCategory);
    for (let n = existing + 1; n <= DEMO_PRODUCTS; n++) {
      const category = categories[n % categories.length];
      const product = em.create(Product, {
        seller: members.SELLER,
        name: `${category.toLowerCase()} #${n}`,
        // Repeating prices on purpose: keyset paging must break ties by id.
        price: 10_000 + (n % 37) * 1_000,
        description: `Demo ${category.toLowerCase()} number ${n}.`,
        stock: 100,
        category,
        status: n % 10 === 0 ? ProductStatus.SOLD_OUT : ProductStatus.IN_STOCK,
      });
      product.images.add(
        em.create(ProductImage, {
          product,
          objectKey: `product/demo-${category.toLowerCase()}.png`,
          type: ProductImageType.MAIN,
          position: 0,
        }),
      );
      product.images.add(
        em.create(ProductImage, {
          product,
          objectKey: `product/demo-detail.png`,
          type: ProductImageType.DETAIL,
          position: 1,
        }),
      );
    }
    await em.flush();

    const event = (await em.findOne(CouponEvent, { title: DEMO_EVENT_TITLE })) ?? createDemoEvent();
    await em.flush();
    const coupon = (await em.find(Coupon, { event }, { orderBy: { id: 'asc' } }))[0];
    console.log(
      JSON.stringify({
        members: Object.values(members).map((m) => m.email),
        password: DEMO_PASSWORD,
        products: await em.count(Product, {}),
        eventId: event.id,
        couponId: coupon?.id,
      }),
    );
  } finally {
    await orm.close(true);
  }

  function createDemoEvent(): CouponEvent {
    const now = Date.now();
    const event = em.create(CouponEvent, {
      title: DEMO_EVENT_TITLE,
      startsAt: new Date(now - 3600_000),
      endsAt: new Date(now + 30 * DAY),
    });
    em.create(Coupon, {
      event,
      name: 'Welcome 10%',
      discountType: DiscountType.PERCENTAGE,
      discountValue: 10,
      minimumProductPrice: 0,
      validFrom: new Date(now - 3600_000),
      validUntil: new Date(now + 60 * DAY),
      maxIssuance: 10_000,
    });
    return event;
  }
}

main().catch(exitOnConfigError);
