import type { Rel } from '@mikro-orm/core';
import { Collection, type Opt } from '@mikro-orm/core';
import { Entity, Enum, Index, ManyToOne, OneToMany, Property } from '@mikro-orm/decorators/legacy';
import { BaseEntity } from '../database/base.entity.js';
import { Member } from '../members/member.entity.js';
import { ProductImage } from './product-image.entity.js';

export enum ProductCategory {
  TOP = 'TOP',
  PANTS = 'PANTS',
  SHOES = 'SHOES',
}

export enum ProductStatus {
  IN_STOCK = 'IN_STOCK',
  SOLD_OUT = 'SOLD_OUT',
}

// Keyset pages walk (price, id) and id, optionally inside a category: one index per walk.
@Entity({ tableName: 'product' })
@Index({ name: 'product_price_id_idx', properties: ['price', 'id'] })
@Index({ name: 'product_category_id_idx', properties: ['category', 'id'] })
@Index({ name: 'product_category_price_id_idx', properties: ['category', 'price', 'id'] })
export class Product extends BaseEntity {
  @ManyToOne(() => Member, { deleteRule: 'restrict' })
  seller!: Rel<Member>;

  @Property({ length: 100 })
  name!: string;

  /** Whole currency units (KRW). */
  @Property({ type: 'integer', unsigned: true })
  price!: number;

  @Property({ type: 'text' })
  description!: string;

  @Property({ type: 'integer', unsigned: true })
  stock!: number;

  @Enum({ items: () => ProductCategory })
  category!: ProductCategory;

  @Enum({ items: () => ProductStatus })
  status: Opt<ProductStatus> = ProductStatus.IN_STOCK;

  @OneToMany(() => ProductImage, (image) => image.product, { orderBy: { position: 'asc' }, orphanRemoval: true })
  images = new Collection<ProductImage>(this);
}
