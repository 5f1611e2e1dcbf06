import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { ImageUrls } from './image-urls.js';

const urls = (env: Record<string, string>) =>
  new ImageUrls(loadConfig({ CDN_BASE_URL: 'https://cdn.example.com/pick/', ...env }));
const KEY = 'product/0b5a3c2e-8f7d-4a51-9c3e-2f1d0e9b8a7c.webp';

describe('ImageUrls', () => {
  it('builds CDN URLs and optimizer variants from configuration only', () => {
    const u = urls({ IMAGE_THUMBNAIL_QUERY: 'type=f&w=320&h=320&quality=80', IMAGE_DETAIL_QUERY: 'type=w&w=1280' });
    expect(u.url(KEY)).toBe(`https://cdn.example.com/pick/${KEY}`);
    expect(u.thumbnail(KEY)).toBe(`https://cdn.example.com/pick/${KEY}?type=f&w=320&h=320&quality=80`);
    expect(u.detail(KEY)).toBe(`https://cdn.example.com/pick/${KEY}?type=w&w=1280`);
  });

  it('gives plain URLs when no optimizer is configured', () => {
    const u = urls({});
    expect(u.thumbnail(KEY)).toBe(u.url(KEY));
    expect(u.detail(KEY)).toBe(u.url(KEY));
  });

  it('maps any variant back to its key and refuses foreign URLs', () => {
    const u = urls({ IMAGE_THUMBNAIL_QUERY: 'w=320' });
    expect(u.keyOf(u.thumbnail(KEY))).toBe(KEY);
    expect(() => u.keyOf(`https://evil.example.com/pick/${KEY}`)).toThrow(/returned by the image upload/);
    expect(() => u.keyOf('https://cdn.example.com/pick/product/../secrets.png')).toThrow();
  });

  it('refuses an optimizer template that is not a bare query string', () => {
    expect(() => urls({ IMAGE_THUMBNAIL_QUERY: '?w=320' })).toThrow(/IMAGE_THUMBNAIL_QUERY/);
  });
});
