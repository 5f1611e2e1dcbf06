import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApprovedSeller, CurrentMember, Public, Roles } from '../auth/auth.decorators.js';
import type { AuthMember } from '../auth/auth.decorators.js';
import { MemberRole } from '../members/member.entity.js';
import { CreateProductDto, ProductDetailDto, ProductIdParam, ProductPageDto, ProductSort, UpdateProductDto } from './catalog.dto.js';
import { ProductCategory } from './product.entity.js';
import { CatalogService } from './catalog.service.js';
import { ProductListQueryPipe, type ParsedProductListQuery } from './product-list-query.pipe.js';

@ApiTags('catalog')
@Controller('api/general/products')
export class ProductsController {
  constructor(private readonly catalog: CatalogService) {}

  @Public()
  @Get()
  @ApiQuery({ name: 'sort', enum: ProductSort, required: false, description: 'default NEW' })
  @ApiQuery({ name: 'category', enum: ProductCategory, required: false })
  @ApiQuery({ name: 'lastId', type: String, required: false, description: 'id of the last item of the previous page (from `next`)' })
  @ApiQuery({ name: 'lastPrice', type: Number, required: false, description: 'price of the last item of the previous page (price sorts)' })
  list(@Query(ProductListQueryPipe) query: ParsedProductListQuery): Promise<ProductPageDto> {
    return this.catalog.listPage(query);
  }

  @Public()
  @Get(':id')
  detail(@Param() { id }: ProductIdParam): Promise<ProductDetailDto> {
    return this.catalog.detail(id);
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
  create(@CurrentMember() actor: AuthMember, @Body() body: CreateProductDto): Promise<ProductDetailDto> {
    return this.catalog.create(actor, body);
  }

  @Patch(':id')
  update(@CurrentMember() actor: AuthMember, @Param() { id }: ProductIdParam, @Body() body: UpdateProductDto): Promise<ProductDetailDto> {
    return this.catalog.update(actor, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@CurrentMember() actor: AuthMember, @Param() { id }: ProductIdParam): Promise<void> {
    await this.catalog.remove(actor, id);
  }
}
