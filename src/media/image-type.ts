export interface ImageType {
  ext: 'jpg' | 'png' | 'webp' | 'gif';
  contentType: string;
}

/** Bytes needed to recognise every accepted type (WebP: "RIFF" size "WEBP"). */
export const SNIFF_BYTES = 12;

const ascii = (head: Uint8Array, from: number, text: string) =>
  head.length >= from + text.length && text.split('').every((c, i) => head[from + i] === c.charCodeAt(0));

/**
 * The image type from the file's first bytes (its magic number), never from its name or the
 * part's Content-Type, which the client chooses. undefined: not an accepted image.
 */
export function sniffImageType(head: Uint8Array): ImageType | undefined {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff)
    return { ext: 'jpg', contentType: 'image/jpeg' };
  if (head.length >= 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((byte, i) => head[i] === byte))
    return { ext: 'png', contentType: 'image/png' };
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WEBP')) return { ext: 'webp', contentType: 'image/webp' };
  if (ascii(head, 0, 'GIF87a') || ascii(head, 0, 'GIF89a')) return { ext: 'gif', contentType: 'image/gif' };
  return undefined;
}
