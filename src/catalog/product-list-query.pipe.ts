import { Injectable, type PipeTransform } from '@nestjs/common';
import { POSITIVE_ID, validationPipe } from '../common/validation.js';
import { DECIMAL_DIGITS } from '../common/validation.js';
import { MAX_PRICE, ProductListQuery, ProductSort } from './catalog.dto.js';
import { ProductCategory } from './product.entity.js';

const SORTS = new Set<string>(Object.values(ProductSort));
const CATEGORIES = new Set<string>(Object.values(ProductCategory));

/** ProductListQuery as this pipe returns it. A mapped type, not the class: the global pipe keys on the class, so it leaves this parameter to this pipe. */
export type ParsedProductListQuery = Readonly<ProductListQuery>;

/**
 * The public list is the hottest route: a query made only of well-formed known parameters is
 * taken as it is, anything else goes through the class-validator pipe (~9 µs) with the
 * ProductListQuery rules, which accept the same queries and give the 400 and its details.
 */
@Injectable()
export class ProductListQueryPipe implements PipeTransform<Record<string, unknown>, Promise<ProductListQuery>> {
  async transform(raw: Record<string, unknown>): Promise<ProductListQuery> {
    return (
      wellFormedListQuery(raw ?? {}) ??
      ((await validationPipe.transform(raw ?? {}, { type: 'query', metatype: ProductListQuery })) as ProductListQuery)
    );
  }
}

/** The query when it is made only of well-formed known parameters; undefined otherwise. */
export function wellFormedListQuery(raw: Record<string, unknown>): ProductListQuery | undefined {
  const query: ProductListQuery = { sort: ProductSort.NEW };
  for (const name in raw) {
    const value = raw[name];
    if (typeof value !== 'string') return undefined;
    switch (name) {
      case 'sort':
        if (!SORTS.has(value)) return undefined;
        query.sort = value as ProductSort;
        break;
      case 'category':
        if (!CATEGORIES.has(value)) return undefined;
        query.category = value as ProductCategory;
        break;
      case 'lastId':
        if (!POSITIVE_ID.test(value)) return undefined;
        query.lastId = value;
        break;
      case 'lastPrice': {
        const price = DECIMAL_DIGITS.test(value) ? Number(value) : Number.NaN;
        if (!(price <= MAX_PRICE)) return undefined;
        query.lastPrice = price;
        break;
      }
      default:
        return undefined;
    }
  }
  return query;
}
