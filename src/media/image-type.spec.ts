import { describe, expect, it } from 'vitest';
import { solidPng } from '../storage/demo-images.js';
import { sniffImageType } from './image-type.js';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))));

describe('sniffImageType', () => {
  it('recognises JPEG, PNG, WebP and GIF by their magic bytes', () => {
    expect(sniffImageType(bytes([0xff, 0xd8, 0xff, 0xe0], 'JFIF'))?.contentType).toBe('image/jpeg');
    expect(sniffImageType(solidPng(1, 1, [0, 0, 0]))?.contentType).toBe('image/png');
    expect(sniffImageType(bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 '))?.contentType).toBe('image/webp');
    expect(sniffImageType(bytes('GIF89a', [1, 0, 1, 0]))?.ext).toBe('gif');
    expect(sniffImageType(bytes('GIF87a'))?.ext).toBe('gif');
  });

  it('refuses everything else, including near misses and truncated headers', () => {
    for (const head of [
      bytes('just some text'),
      bytes('<svg xmlns="http://www.w3.org/2000/svg"/>'),
      bytes('RIFF', [0, 0, 0, 0], 'WAVEfmt '), // RIFF but audio
      bytes([0x89], 'PNG'), // truncated PNG signature
      bytes([0xff, 0xd8]), // two bytes of JPEG
      bytes('%PDF-1.7'),
      bytes('GIF88a'),
      bytes([]),
    ]) {
      expect(sniffImageType(head)).toBeUndefined();
    }
  });
});
