import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { AppError } from '../common/errors.js';

const KEY_PATTERN = /^product\/[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.(jpg|png|webp|gif)$/;

/**
 * Turns storage keys into public (CDN) URLs and back; the only place that knows the URL shape.
 * Switching CDN or image optimizer is configuration: CDN_BASE_URL and the optimizer query
 * templates IMAGE_THUMBNAIL_QUERY (list) and IMAGE_DETAIL_QUERY (detail); empty = plain URL.
 */
@Injectable()
export class ImageUrls {
  private readonly base: string;
  private readonly thumbnailQuery: string;
  private readonly detailQuery: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.base = config.CDN_BASE_URL.replace(/\/+$/, '');
    this.thumbnailQuery = config.IMAGE_THUMBNAIL_QUERY;
    this.detailQuery = config.IMAGE_DETAIL_QUERY;
  }

  /** The original object, as returned by the upload. */
  url(key: string): string {
    return `${this.base}/${key}`;
  }

  /** List thumbnail variant. */
  thumbnail(key: string): string {
    return this.withQuery(key, this.thumbnailQuery);
  }

  /** Product detail variant. */
  detail(key: string): string {
    return this.withQuery(key, this.detailQuery);
  }

  private withQuery(key: string, query: string): string {
    return query ? `${this.url(key)}?${query}` : this.url(key);
  }

  /** The storage key behind a URL this service produced (any variant); anything else is refused. */
  keyOf(url: string): string {
    const prefix = `${this.base}/`;
    const key = url.startsWith(prefix) ? url.slice(prefix.length).split('?')[0] : '';
    if (!KEY_PATTERN.test(key))
      throw new AppError('VALIDATION_FAILED', 'An image URL must be one returned by the image upload', [
        { field: 'images.url', errors: [`not an uploaded image: ${url.slice(0, 200)}`] },
      ]);
    return key;
  }
}
