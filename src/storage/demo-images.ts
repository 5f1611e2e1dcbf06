import { crc32, deflateSync } from 'node:zlib';

/** A valid width×height RGB PNG of one colour (signature, IHDR, IDAT, IEND). */
export function solidPng(width: number, height: number, [r, g, b]: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'ascii');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, truecolour, deflate, no filter, no interlace
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3).map((_, i) => [r, g, b][i % 3])]);
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(pixels)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The objects the demo seed references (src/cli/seed.ts). */
export const DEMO_IMAGES: Record<string, Buffer> = {
  'product/demo-top.png': solidPng(64, 64, [220, 60, 60]),
  'product/demo-pants.png': solidPng(64, 64, [60, 90, 200]),
  'product/demo-shoes.png': solidPng(64, 64, [40, 160, 80]),
  'product/demo-detail.png': solidPng(128, 96, [200, 200, 200]),
};
