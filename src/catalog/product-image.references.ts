import { LockMode } from '@mikro-orm/core';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { MediaReferences } from '../media/media-references.js';
import { ProductImage } from './product-image.entity.js';

/** Tells media's cleanup that an object a product image points at is in use (the catalog owns product_image). */
@Injectable()
export class ProductImageReferences implements OnModuleInit {
  constructor(private readonly references: MediaReferences) {}

  onModuleInit(): void {
    // Under a shared lock: an attach in flight (which locks the media record first) is either
    // committed and seen here, or waits and then finds the record DELETING.
    this.references.register(
      'product_image',
      async (tx, objectKey) =>
        (await tx.findOne(ProductImage, { objectKey }, { lockMode: LockMode.PESSIMISTIC_READ, fields: ['id'] })) !==
        null,
    );
  }
}
