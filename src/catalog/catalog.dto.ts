import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsEnum, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateIf, ValidateNested } from 'class-validator';
import { IsDisplayText, POSITIVE_ID } from '../common/validation.js';
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
export const DECIMAL_DIGITS = /^\d{1,10}$/;

// Query strings arrive as text: only plain decimal digits become numbers, anything else stays and fails validation.
const integer = ({ value }: { value: unknown }) => (typeof value === 'string' && DECIMAL_DIGITS.test(value) ? Number(value) : value);

/** The list's query rules (documented on the route: ProductsController.list; fast path: ProductListQueryPipe). */
export class ProductListQuery {
  @IsOptional() @IsEnum(ProductSort)
  sort: ProductSort = ProductSort.NEW;

  @IsOptional() @IsEnum(ProductCategory)
  category?: ProductCategory;

  @IsOptional() @Matches(POSITIVE_ID, { message: 'lastId must be a positive integer' })
  lastId?: string;

  @IsOptional() @Transform(integer) @IsInt({ message: 'lastPrice must be a non-negative integer' }) @Min(0) @Max(MAX_PRICE)
  lastPrice?: number;
}

export class ProductIdParam {
  @ApiProperty() @Matches(POSITIVE_ID, { message: 'id must be a positive integer' })
  id: string;
}

export class ProductImageInput {
  @ApiProperty({ description: 'a URL returned by POST /api/seller/products/images' })
  @IsString() @MaxLength(1000)
  url: string;

  @ApiProperty({ enum: ProductImageType })
  @IsEnum(ProductImageType)
  type: ProductImageType;
}

export class CreateProductDto {
  @ApiProperty({ maxLength: 100 }) @Transform(trim) @IsString() @IsDisplayText() @IsNotEmpty() @MaxLength(100)
  name: string;

  @ApiProperty({ minimum: 0, maximum: MAX_PRICE }) @IsInt() @Min(0) @Max(MAX_PRICE)
  price: number;

  @ApiProperty({ maxLength: 5000 }) @IsString() @IsDisplayText({ multiline: true }) @MaxLength(5000)
  description: string;

  @ApiProperty({ minimum: 0, maximum: MAX_STOCK }) @IsInt() @Min(0) @Max(MAX_STOCK)
  stock: number;

  @ApiProperty({ enum: ProductCategory }) @IsEnum(ProductCategory)
  category: ProductCategory;

  @ApiProperty({ enum: ProductStatus }) @IsEnum(ProductStatus)
  status: ProductStatus;

  @ApiPropertyOptional({ type: [ProductImageInput], description: 'in display order; at most one MAIN' })
  @ValidateIf((_, value) => value !== undefined) @IsArray() @ArrayMaxSize(MAX_IMAGES) @ValidateNested({ each: true }) @Type(() => ProductImageInput)
  images?: ProductImageInput[];
}

// skipNullProperties: false — a field may be left out, but an explicit null is validated (and refused),
// never written over a NOT NULL column.
export class UpdateProductDto extends PartialType(CreateProductDto, { skipNullProperties: false }) {}

export class ProductSummaryDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() price: number;
  @ApiProperty({ nullable: true, type: String }) imageUrl: string | null;
}

export class PageCursorDto {
  @ApiProperty() lastId: string;
  @ApiProperty() lastPrice: number;
}

export class ProductPageDto {
  @ApiProperty({ type: [ProductSummaryDto] }) items: ProductSummaryDto[];
  @ApiProperty({ type: PageCursorDto, nullable: true }) next: PageCursorDto | null;
}

export class ProductImageDto {
  @ApiProperty() url: string;
  @ApiProperty({ enum: ProductImageType }) type: ProductImageType;
}

export class ProductDetailDto {
  @ApiProperty() id: string;
  @ApiProperty() sellerId: string;
  @ApiProperty() name: string;
  @ApiProperty() price: number;
  @ApiProperty() description: string;
  @ApiProperty() stock: number;
  @ApiProperty({ enum: ProductCategory }) category: ProductCategory;
  @ApiProperty({ enum: ProductStatus }) status: ProductStatus;
  @ApiProperty({ nullable: true, type: String }) imageUrl: string | null;
  @ApiProperty({ type: [ProductImageDto] }) images: ProductImageDto[];
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
}

