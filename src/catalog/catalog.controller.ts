import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentMember, Public, Roles } from '../auth/auth.decorators.js';
import type { AuthMember } from '../auth/auth.decorators.js';
import { MemberRole } from '../members/member.entity.js';
import { CreateProductDto, ProductDetailDto, ProductIdParam, ProductListQuery, ProductPageDto, UpdateProductDto } from './catalog.dto.js';
import { CatalogService } from './catalog.service.js';

@ApiTags('catalog')
@Controller('api/general/products')
export class ProductsController {
  constructor(private readonly catalog: CatalogService) {}

  @Public()
  @Get()
  list(@Query() query: ProductListQuery): Promise<ProductPageDto> {
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
