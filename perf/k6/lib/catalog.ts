/**
 * A shopper browsing the catalog, one page view per call. Each VU keeps its own browsing session
 * between iterations (k6 keeps module state per VU): it picks a sort and a category, pages through
 * with the `next` cursor the server returned, sometimes opens a product, and starts a new session
 * when it reaches its planned depth or the last page. Both the closed model (VUs looping, like the
 * original's nGrinder run) and the open model (arrival rate) drive this same function.
 */
import { check } from 'k6';
import http from 'k6/http';
import { BASE_URL } from './env.ts';
import { recordResponse } from './metrics.ts';

export const SORTS = ['NEW', 'HIGH_PRICE', 'LOW_PRICE'] as const;
export const CATEGORIES = ['', 'TOP', 'PANTS', 'SHOES'] as const;
export const PAGE_SIZE = 12;

export interface BrowseSettings {
  /** deepest page a session goes to (sessions pick 1..maxPages, shallow ones more often) */
  maxPages: number;
  /** chance of opening one product of the page just listed */
  detailRate: number;
}

interface ProductPage {
  items: { id: string | number; name: string; price: number; imageUrl: string | null }[];
  next: { lastId: string | number; lastPrice?: number | null } | null;
}

interface Session {
  sort: (typeof SORTS)[number];
  category: (typeof CATEGORIES)[number];
  depth: number;
  page: number;
  cursor: ProductPage['next'];
}

let session: Session | null = null;

function pick<T>(list: readonly T[]): T {
  return list[Math.floor(Math.random() * list.length)];
}

/** Most shoppers look at the first page or two; few go deep. */
function plannedDepth(maxPages: number): number {
  let depth = 1;
  while (depth < maxPages && Math.random() < 0.5) depth++;
  return depth;
}

export function listQuery(sort: string, category: string, cursor: ProductPage['next']): string {
  const params = [`sort=${sort}`];
  if (category) params.push(`category=${category}`);
  if (cursor) {
    params.push(`lastId=${encodeURIComponent(String(cursor.lastId))}`);
    if (cursor.lastPrice !== undefined && cursor.lastPrice !== null) params.push(`lastPrice=${cursor.lastPrice}`);
  }
  return params.join('&');
}

/** One page view: the next list page of this VU's session, plus maybe a product detail. */
export function browsePage(settings: BrowseSettings): void {
  if (!session)
    session = {
      sort: pick(SORTS),
      category: pick(CATEGORIES),
      depth: plannedDepth(settings.maxPages),
      page: 0,
      cursor: null,
    };
  const current = session;
  const response = http.get(
    `${BASE_URL}/api/general/products?${listQuery(current.sort, current.category, current.cursor)}`,
    {
      tags: { name: 'GET /api/general/products', endpoint: 'list' },
    },
  );
  recordResponse(response, 'list');
  let page: ProductPage | null = null;
  try {
    page = response.status === 200 ? (response.json() as unknown as ProductPage) : null;
  } catch {
    page = null;
  }
  check(response, {
    'list: 200': (r) => r.status === 200,
    'list: at most 12 items and a next cursor or null': () =>
      page !== null &&
      Array.isArray(page.items) &&
      page.items.length <= PAGE_SIZE &&
      (page.next === null || page.next.lastId !== undefined),
  });
  current.page++;
  if (!page || !page.next || current.page >= current.depth) session = null;
  else current.cursor = page.next;

  if (page && page.items.length > 0 && Math.random() < settings.detailRate) {
    const product = pick(page.items);
    const detail = http.get(`${BASE_URL}/api/general/products/${product.id}`, {
      tags: { name: 'GET /api/general/products/:id', endpoint: 'detail' },
    });
    recordResponse(detail, 'detail');
    check(detail, { 'detail: 200': (r) => r.status === 200 });
  }
}
