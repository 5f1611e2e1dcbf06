import type { Rel } from '@mikro-orm/core';
import { Entity, Enum, Index, ManyToOne, Property } from '@mikro-orm/decorators/legacy';
import { BaseEntity } from '../database/base.entity.js';
import { Product } from './product.entity.js';

export enum ProductImageType {
  MAIN = 'MAIN',
  DETAIL = 'DETAIL',
}

@Entity({ tableName: 'product_image' })
@Index({ name: 'product_image_product_position_idx', properties: ['product', 'position'] })
// The media cleanup job asks "does any product still use this key?"
@Index({ name: 'product_image_object_key_idx', properties: ['objectKey'] })
export class ProductImage extends BaseEntity {
  @ManyToOne(() => Product, { deleteRule: 'cascade' })
  product!: Rel<Product>;

  /** Object storage key (`product/<uuid>.<ext>`); the public URL is built from the CDN base. */
  @Property({ length: 255 })
  objectKey!: string;

  @Enum({ items: () => ProductImageType })
  type!: ProductImageType;

  @Property({ type: 'smallint', unsigned: true })
  position!: number;
}
