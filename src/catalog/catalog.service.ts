import { EntityManager } from '@mikro-orm/mysql';
import { Injectable } from '@nestjs/common';
import { AuthMember } from '../auth/auth.decorators.js';
import { AppError } from '../common/errors.js';
import { ImageUrls } from '../media/image-urls.js';
import { MediaService } from '../media/media.service.js';
import { Member, MemberRole } from '../members/member.entity.js';
import {
  CreateProductDto,
  PAGE_SIZE,
  ProductDetailDto,
  ProductImageInput,
  ProductListQuery,
  ProductPageDto,
  ProductSort,
  UpdateProductDto,
} from './catalog.dto.js';
import { CatalogCache, type CachedBody, type ListPageKey } from './catalog-cache.js';
import { ProductImage, ProductImageType } from './product-image.entity.js';
import { Product } from './product.entity.js';

/**
 * The page a list query asks for, as the cache keys it; throws INVALID_CURSOR for an incomplete
 * cursor. The controller's path and the fast path (catalog-fast-path.ts) both key pages with it.
 */
export function listPageKey(query: ProductListQuery): ListPageKey {
  const sort = query.sort ?? ProductSort.NEW;
  if (query.lastPrice !== undefined && query.lastId === undefined) {
    throw new AppError('INVALID_CURSOR', 'lastPrice needs lastId');
  }
  if (sort !== ProductSort.NEW && query.lastId !== undefined && query.lastPrice === undefined) {
    throw new AppError('INVALID_CURSOR', `sort=${sort} needs both lastId and lastPrice`);
  }
  // NEW pages ignore lastPrice: leave it out of the key so it cannot split one page into many.
  return {
    sort,
    category: query.category,
    lastId: query.lastId,
    lastPrice: sort === ProductSort.NEW ? undefined : query.lastPrice,
  };
}

interface SummaryRow {
  id: string;
  name: string;
  price: number;
}

@Injectable()
export class CatalogService {
  constructor(
    private readonly em: EntityManager,
    private readonly urls: ImageUrls,
    private readonly media: MediaService,
    private readonly cache: CatalogCache,
  ) {}

  /** One list page (a ProductPageDto as JSON bytes), from this worker's cache or MySQL (cursor checked before either). */
  async listPage(query: ProductListQuery): Promise<CachedBody> {
    const page = listPageKey(query);
    return this.cache.listPage(page, () => this.loadListPage(page));
  }

  /** A ProductDetailDto as JSON bytes. */
  async detail(id: string): Promise<CachedBody> {
    return this.cache.product(id, () => this.loadDetail(id));
  }

  /**
   * One keyset page: ordered by (price, id) or id, so a write between two pages can
   * neither skip nor repeat an item that did not itself change.
   */
  async loadListPage(query: {
    sort: ProductSort;
    category?: ProductListQuery['category'];
    lastId?: string;
    lastPrice?: number;
  }): Promise<ProductPageDto> {
    const { sort } = query;
    const qb = this.em.createQueryBuilder(Product, 'p').select(['p.id', 'p.name', 'p.price']).limit(PAGE_SIZE);
    if (query.category) qb.andWhere({ category: query.category });
    const { lastId, lastPrice } = query;
    switch (sort) {
      case ProductSort.NEW:
        if (lastId) qb.andWhere({ id: { $lt: lastId } });
        qb.orderBy({ id: 'desc' });
        break;
      case ProductSort.HIGH_PRICE:
        if (lastId) qb.andWhere({ $or: [{ price: { $lt: lastPrice } }, { price: lastPrice, id: { $lt: lastId } }] });
        qb.orderBy({ price: 'desc', id: 'desc' });
        break;
      case ProductSort.LOW_PRICE:
        if (lastId) qb.andWhere({ $or: [{ price: { $gt: lastPrice } }, { price: lastPrice, id: { $gt: lastId } }] });
        qb.orderBy({ price: 'asc', id: 'asc' });
        break;
    }
    const rows = await qb.execute<SummaryRow[]>('all', false);
    const mainImages = await this.mainImageKeys(rows.map((row) => String(row.id)));
    const items = rows.map((row) => {
      const key = mainImages.get(String(row.id));
      return {
        id: String(row.id),
        name: row.name,
        price: Number(row.price),
        imageUrl: key ? this.urls.thumbnail(key) : null,
      };
    });
    const last = items.at(-1);
    return { items, next: items.length === PAGE_SIZE && last ? { lastId: last.id, lastPrice: last.price } : null };
  }

  async loadDetail(id: string): Promise<ProductDetailDto> {
    // A fork: loads are shared by concurrent requests, so they must not use one request's identity map.
    const product = await this.em.fork().findOne(Product, { id }, { populate: ['images'] });
    if (!product) throw new AppError('PRODUCT_NOT_FOUND', `Product ${id} does not exist`);
    return this.toDetail(product);
  }

  async create(actor: AuthMember, body: CreateProductDto): Promise<ProductDetailDto> {
    const keys = this.imageKeys(body.images);
    const { images: _images, ...fields } = body;
    // Images: the upload records are locked before the rows that reference them are written (see MediaService).
    const product = await this.em.transactional(async () => {
      await this.media.lockAttachable(
        actor,
        keys.map((image) => image.key),
      );
      const created = this.em.create(Product, { ...fields, seller: this.em.getReference(Member, actor.id) });
      this.setImages(created, keys);
      return created;
    });
    await this.cache.productChanged(String(product.id));
    return this.toDetail(product);
  }

  async update(actor: AuthMember, id: string, body: UpdateProductDto): Promise<ProductDetailDto> {
    const keys = body.images === undefined ? undefined : this.imageKeys(body.images);
    const { images: _images, ...fields } = body;
    const product = await this.em.transactional(async () => {
      const found = await this.ownedProduct(actor, id);
      this.em.assign(found, fields);
      if (keys) {
        const before = new Set(found.images.getItems().map((image) => image.objectKey));
        await this.media.lockAttachable(
          actor,
          keys.map((image) => image.key),
          before,
        );
        this.setImages(found, keys);
        await this.em.flush();
        // Queued before commit: the job decides from committed rows, so a rollback only makes it keep the objects.
        await this.media.releaseLater(
          [...before].filter((key) => !keys.some((image) => image.key === key)),
          `product-${id}-${found.updatedAt.getTime()}`,
        );
      }
      return found;
    });
    await this.cache.productChanged(String(product.id));
    return this.toDetail(product);
  }

  async remove(actor: AuthMember, id: string): Promise<void> {
    await this.em.transactional(async () => {
      const product = await this.ownedProduct(actor, id);
      await this.media.releaseLater(
        product.images.getItems().map((image) => image.objectKey),
        `product-${id}-deleted`,
      );
      this.em.remove(product);
    });
    await this.cache.productChanged(id);
  }

  private async ownedProduct(actor: AuthMember, id: string): Promise<Product> {
    const product = await this.em.findOne(Product, { id }, { populate: ['images'] });
    if (!product) throw new AppError('PRODUCT_NOT_FOUND', `Product ${id} does not exist`);
    if (actor.role !== MemberRole.ADMIN && product.seller.id !== actor.id) {
      throw new AppError('FORBIDDEN', 'Only the seller who owns this product, or an admin, may change it');
    }
    return product;
  }

  private imageKeys(images: ProductImageInput[] | undefined): { key: string; type: ProductImageType }[] {
    const list = images ?? [];
    if (list.filter((image) => image.type === ProductImageType.MAIN).length > 1) {
      throw new AppError('VALIDATION_FAILED', 'A product has at most one MAIN image', [
        { field: 'images', errors: ['more than one MAIN image'] },
      ]);
    }
    return list.map((image) => ({ key: this.urls.keyOf(image.url), type: image.type }));
  }

  private setImages(product: Product, keys: { key: string; type: ProductImageType }[]): void {
    product.images.removeAll();
    keys.forEach(({ key, type }, position) =>
      product.images.add(this.em.create(ProductImage, { product, objectKey: key, type, position })),
    );
  }

  private async mainImageKeys(productIds: string[]): Promise<Map<string, string>> {
    if (productIds.length === 0) return new Map();
    const rows = await this.em
      .createQueryBuilder(ProductImage, 'i')
      .select(['i.product', 'i.objectKey'])
      .where({ product: { $in: productIds }, type: ProductImageType.MAIN })
      .execute<{ product: string; objectKey: string }[]>('all', true);
    return new Map(rows.map((row) => [String(row.product), row.objectKey]));
  }

  private toDetail(product: Product): ProductDetailDto {
    const images = product.images
      .getItems()
      .map((image) => ({ url: this.urls.detail(image.objectKey), type: image.type }));
    const main = images.find((image) => image.type === ProductImageType.MAIN);
    return {
      id: String(product.id),
      sellerId: String(product.seller.id),
      name: product.name,
      price: product.price,
      description: product.description,
      stock: product.stock,
      category: product.category,
      status: product.status,
      imageUrl: main?.url ?? null,
      images,
      createdAt: product.createdAt.toISOString(),
      updatedAt: product.updatedAt.toISOString(),
    };
  }
}
