import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsEnum,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import { IsDisplayText, IsListOf, POSITIVE_ID, queryInteger } from '../common/validation.js';
import { ProductCategory, ProductStatus } from './product.entity.js';
import { ProductImageType } from './product-image.entity.js';

export const PAGE_SIZE = 12;
export const MAX_PRICE = 1_000_000_000;
export const MAX_STOCK = 1_000_000_000;
export const MAX_IMAGES = 10;

export enum ProductSort {
  NEW = 'NEW',
  HIGH_PRICE = 'HIGH_PRICE',
  LOW_PRICE = 'LOW_PRICE',
}

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
/** Query-string digits that may become a number. */

/** The list's query rules (documented on the route: ProductsController.list; fast path: ProductListQueryPipe). */
export class ProductListQuery {
  @IsOptional()
  @IsEnum(ProductSort)
  sort: ProductSort = ProductSort.NEW;

  @IsOptional()
  @IsEnum(ProductCategory)
  category?: ProductCategory;

  @IsOptional()
  @Matches(POSITIVE_ID, { message: 'lastId must be a positive integer' })
  lastId?: string;

  @IsOptional()
  @Transform(queryInteger)
  @IsInt({ message: 'lastPrice must be a non-negative integer' })
  @Min(0)
  @Max(MAX_PRICE)
  lastPrice?: number;
}

export class ProductIdParam {
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '7' })
  @Matches(POSITIVE_ID, { message: 'id must be a positive integer' })
  id: string;
}

export class ProductImageInput {
  @ApiProperty({
    maxLength: 1000,
    description: 'a URL returned by POST /api/seller/products/images',
    example: 'https://cdn.example.com/product/0b6f4c1e-3d5a-4f0e-9a51-2c7d8e9f0a1b.jpg',
  })
  @IsString()
  @MaxLength(1000)
  url: string;

  @ApiProperty({ enum: ProductImageType, enumName: 'ProductImageType', example: 'MAIN' })
  @IsEnum(ProductImageType)
  type: ProductImageType;
}

export class CreateProductDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'Linen shirt', description: 'trimmed; no control characters' })
  @Transform(trim)
  @IsString()
  @IsDisplayText()
  @IsNotEmpty()
  @MaxLength(100)
  name: string;

  @ApiProperty({ type: 'integer', minimum: 0, maximum: MAX_PRICE, example: 39000 })
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE)
  price: number;

  @ApiProperty({
    maxLength: 5000,
    example: 'Breathable linen, regular fit',
    description: 'no control characters other than tabs and line breaks',
  })
  @IsString()
  @IsDisplayText({ multiline: true })
  @MaxLength(5000)
  description: string;

  @ApiProperty({ type: 'integer', minimum: 0, maximum: MAX_STOCK, example: 120 })
  @IsInt()
  @Min(0)
  @Max(MAX_STOCK)
  stock: number;

  @ApiProperty({ enum: ProductCategory, enumName: 'ProductCategory', example: 'TOP' })
  @IsEnum(ProductCategory)
  category: ProductCategory;

  @ApiProperty({ enum: ProductStatus, enumName: 'ProductStatus', example: 'IN_STOCK' })
  @IsEnum(ProductStatus)
  status: ProductStatus;

  @ApiPropertyOptional({
    type: [ProductImageInput],
    maxItems: MAX_IMAGES,
    description: 'in display order; at most one MAIN',
  })
  @ValidateIf((_, value) => value !== undefined)
  @IsListOf(() => ProductImageInput, { max: MAX_IMAGES })
  images?: ProductImageInput[];
}

// skipNullProperties: false — a field may be left out, but an explicit null is validated (and refused),
// never written over a NOT NULL column.
export class UpdateProductDto extends PartialType(CreateProductDto, { skipNullProperties: false }) {}

export class ProductSummaryDto {
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '188' }) id: string;
  @ApiProperty({ example: 'Linen shirt' }) name: string;
  @ApiProperty({ type: 'integer', minimum: 0, example: 39000 }) price: number;
  @ApiProperty({ nullable: true, type: String, description: 'thumbnail of the MAIN image; null without one' })
  imageUrl: string | null;
}

export class PageCursorDto {
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '177' }) lastId: string;
  @ApiProperty({ type: 'integer', minimum: 0, example: 25000 }) lastPrice: number;
}

export class ProductPageDto {
  @ApiProperty({ type: [ProductSummaryDto], maxItems: PAGE_SIZE }) items: ProductSummaryDto[];
  @ApiProperty({
    type: PageCursorDto,
    nullable: true,
    description: 'query parameters of the next page; null on the last page',
  })
  next: PageCursorDto | null;
}

export class ProductImageDto {
  @ApiProperty({ example: 'https://cdn.example.com/product/0b6f4c1e-3d5a-4f0e-9a51-2c7d8e9f0a1b.jpg' }) url: string;
  @ApiProperty({ enum: ProductImageType, enumName: 'ProductImageType' }) type: ProductImageType;
}

export class ProductDetailDto {
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '188' }) id: string;
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '2' }) sellerId: string;
  @ApiProperty({ example: 'Linen shirt' }) name: string;
  @ApiProperty({ type: 'integer', minimum: 0, example: 39000 }) price: number;
  @ApiProperty({ example: 'Breathable linen, regular fit' }) description: string;
  @ApiProperty({ type: 'integer', minimum: 0, example: 120 }) stock: number;
  @ApiProperty({ enum: ProductCategory, enumName: 'ProductCategory' }) category: ProductCategory;
  @ApiProperty({ enum: ProductStatus, enumName: 'ProductStatus' }) status: ProductStatus;
  @ApiProperty({ nullable: true, type: String, description: 'the MAIN image; null without one' }) imageUrl:
    string | null;
  @ApiProperty({ type: [ProductImageDto] }) images: ProductImageDto[];
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}
