import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { POSITIVE_ID } from '../common/validation.js';
import { APPROVED_SELLER_ONLY, ApiErrors, JSON_BODY, PATH_PARAMS } from '../openapi/api-errors.js';
import { ApprovedSeller, CurrentMember, Public, Roles } from '../auth/auth.decorators.js';
import type { AuthMember } from '../auth/auth.decorators.js';
import { MemberRole } from '../members/member.entity.js';
import {
  CreateProductDto,
  MAX_PRICE,
  ProductDetailDto,
  ProductIdParam,
  ProductPageDto,
  ProductSort,
  UpdateProductDto,
} from './catalog.dto.js';
import { ProductCategory } from './product.entity.js';
import { CatalogService } from './catalog.service.js';
import { sendCachedBody } from './catalog-fast-path.js';
import { ProductListQueryPipe, type ParsedProductListQuery } from './product-list-query.pipe.js';
import { Throttled } from '../throttle/throttle.guard.js';

// The public reads answer with cached JSON bytes and their ETag (sendCachedBody).
const IF_NONE_MATCH = {
  name: 'If-None-Match',
  required: false,
  description: 'an ETag of an earlier answer: 304 without a body while it is still current',
};
const CACHED_HEADERS = {
  ETag: {
    description: 'strong tag of the body; the same on every worker for the same bytes',
    schema: { type: 'string' as const },
  },
  'Cache-Control': {
    description: '`no-cache`: revalidate (If-None-Match) before reuse',
    schema: { type: 'string' as const },
  },
};
const NOT_MODIFIED = {
  status: 304,
  description: 'If-None-Match named the current ETag: no body',
  headers: CACHED_HEADERS,
};

@ApiTags('catalog')
@Controller('api/general/products')
export class ProductsController {
  constructor(private readonly catalog: CatalogService) {}

  // The same rules as ProductListQuery / ProductListQueryPipe; any other query parameter is a 400 VALIDATION_FAILED.
  @Public()
  @Get()
  @ApiOperation({
    operationId: 'listProducts',
    summary: 'A page of 12 products',
    description:
      'Keyset pages: pass the `next` of a page back as `lastId` (and `lastPrice` for the price sorts). Unknown query parameters are refused.',
  })
  @ApiQuery({ name: 'sort', enum: ProductSort, enumName: 'ProductSort', required: false, description: 'default NEW' })
  @ApiQuery({ name: 'category', enum: ProductCategory, enumName: 'ProductCategory', required: false })
  @ApiQuery({
    name: 'lastId',
    required: false,
    schema: { type: 'string', pattern: POSITIVE_ID.source },
    example: '188',
    description: '`next.lastId` of the previous page',
  })
  @ApiQuery({
    name: 'lastPrice',
    required: false,
    schema: { type: 'integer', minimum: 0, maximum: MAX_PRICE },
    example: 25000,
    description: '`next.lastPrice` of the previous page; with HIGH_PRICE and LOW_PRICE it needs `lastId`',
  })
  @ApiHeader(IF_NONE_MATCH)
  @ApiOkResponse({ type: ProductPageDto, headers: CACHED_HEADERS })
  @ApiResponse(NOT_MODIFIED)
  @ApiErrors('VALIDATION_FAILED', 'INVALID_CURSOR')
  // Cache hits never get here: CatalogFastPath answers them from the same cache before Nest.
  async list(@Query(ProductListQueryPipe) query: ParsedProductListQuery, @Res() reply: FastifyReply): Promise<void> {
    sendCachedBody(reply, await this.catalog.listPage(query));
  }

  @Public()
  @Get(':id')
  @ApiOperation({ operationId: 'getProduct', summary: 'A product with all its image URLs' })
  @ApiHeader(IF_NONE_MATCH)
  @ApiOkResponse({ type: ProductDetailDto, headers: CACHED_HEADERS })
  @ApiResponse(NOT_MODIFIED)
  @ApiErrors(PATH_PARAMS, 'PRODUCT_NOT_FOUND')
  async detail(@Param() { id }: ProductIdParam, @Res() reply: FastifyReply): Promise<void> {
    sendCachedBody(reply, await this.catalog.detail(id));
  }
}

@ApiTags('seller')
@ApiBearerAuth()
@Roles(MemberRole.SELLER, MemberRole.ADMIN)
@ApprovedSeller()
@Controller('api/seller/products')
export class SellerProductsController {
  constructor(private readonly catalog: CatalogService) {}

  @Post()
  @Throttled('productWrite')
  @ApiOperation({
    operationId: 'createProduct',
    summary: 'Create a product',
    description: 'Roles: SELLER or ADMIN. Images must be ones the caller uploaded.',
  })
  @ApiCreatedResponse({ type: ProductDetailDto })
  @ApiErrors(APPROVED_SELLER_ONLY, JSON_BODY, 'IMAGE_NOT_FOUND', 'TOO_MANY_REQUESTS')
  create(@CurrentMember() actor: AuthMember, @Body() body: CreateProductDto): Promise<ProductDetailDto> {
    return this.catalog.create(actor, body);
  }

  @Patch(':id')
  @Throttled('productWrite')
  @ApiOperation({
    operationId: 'updateProduct',
    summary: 'Change any fields of a product',
    description:
      'Roles: the SELLER who owns the product, or ADMIN. A field left out is kept; `images`, when given, replaces the list.',
  })
  @ApiOkResponse({ type: ProductDetailDto })
  @ApiErrors(APPROVED_SELLER_ONLY, JSON_BODY, PATH_PARAMS, 'PRODUCT_NOT_FOUND', 'IMAGE_NOT_FOUND', 'TOO_MANY_REQUESTS')
  update(
    @CurrentMember() actor: AuthMember,
    @Param() { id }: ProductIdParam,
    @Body() body: UpdateProductDto,
  ): Promise<ProductDetailDto> {
    return this.catalog.update(actor, id, body);
  }

  @Delete(':id')
  @Throttled('productWrite')
  @HttpCode(204)
  @ApiOperation({
    operationId: 'deleteProduct',
    summary: 'Delete a product',
    description: 'Roles: the SELLER who owns the product, or ADMIN.',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(APPROVED_SELLER_ONLY, PATH_PARAMS, 'PRODUCT_NOT_FOUND', 'TOO_MANY_REQUESTS')
  async remove(@CurrentMember() actor: AuthMember, @Param() { id }: ProductIdParam): Promise<void> {
    await this.catalog.remove(actor, id);
  }
}
