import { afterAll, beforeAll, describe } from 'vitest';
import { startAppWithActors, type RoleActors } from '../testing/actors.js';
import type { TestApp } from '../testing/app.js';
import { badInputTable, type BadInputCase } from '../testing/bad-input.js';

/**
 * Multipart bodies the image upload cannot read (no boundary, cut short): the exact 4xx and code, never a
 * 5xx. Table-driven: one row per case (src/testing/bad-input.ts). Bad images (type, size, count, field)
 * and what storage keeps after them: media.e2e.ts. Multipart/form-data to a route that does not read it:
 * src/common/any-route.bad-input.e2e.ts.
 */

type Actors = RoleActors;

const cases: BadInputCase<Actors>[] = [
  {
    name: 'upload: multipart/form-data without a boundary',
    method: 'POST',
    path: '/api/seller/products/images',
    raw: '--x\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\nContent-Type: image/png\r\n\r\nx\r\n--x--\r\n',
    contentType: 'multipart/form-data',
    token: (a) => a.seller.accessToken,
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'upload: multipart body cut short',
    method: 'POST',
    path: '/api/seller/products/images',
    raw: '--x\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG',
    contentType: 'multipart/form-data; boundary=x',
    token: (a) => a.seller.accessToken,
    status: 400,
    code: 'BAD_REQUEST',
  },
];

describe('media: bad input', () => {
  let t: TestApp;
  let a: Actors;

  beforeAll(async () => {
    ({ t, actors: a } = await startAppWithActors());
  });
  afterAll(() => t.close());

  badInputTable(cases, () => ({ http: t.http, actors: a }), 2);
});
