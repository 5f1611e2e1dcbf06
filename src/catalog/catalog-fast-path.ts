import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { HotAnswer, HotRequest, HotRoute } from '../http/hot-routes.js';
import { POSITIVE_ID } from '../common/validation.js';
import { CatalogCache, type CachedBody, type ListPageKey } from './catalog-cache.js';
import { listPageKey } from './catalog.service.js';
import { wellFormedListQuery } from './product-list-query.pipe.js';

/** The public catalog reads, as Nest registers ProductsController's routes with Fastify. */
const LIST_ROUTE = '/api/general/products';
const DETAIL_ROUTE = '/api/general/products/:id';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The answer with cached catalog bytes: 304 when the request's If-None-Match names their ETag, else
 * 200 with the bytes. The one way both the controller and the fast path answer, so a hit and a
 * miss carry the same headers. `no-cache`: a browser or proxy may keep the page but must ask
 * again (a cheap 304) every time, so none serves it past an invalidation.
 */
export function cachedBodyAnswer(ifNoneMatch: string | undefined, body: CachedBody): HotAnswer {
  const headers = { etag: body.etag, 'cache-control': 'no-cache' };
  if (ifNoneMatch !== undefined && etagListMatches(ifNoneMatch, body.etag)) return { status: 304, headers };
  return { status: 200, headers: { ...headers, 'content-type': JSON_TYPE }, body: body.json };
}

/** `cachedBodyAnswer` through Fastify's reply (the controller's misses). */
export function sendCachedBody(reply: FastifyReply, body: CachedBody): void {
  const answer = cachedBodyAnswer(reply.request.headers['if-none-match'], body);
  void reply.code(answer.status).headers(answer.headers).send(answer.body);
}

/** If-None-Match's weak comparison (RFC 9110 13.1.2): a list of tags, W/ ignored, or "*". */
export function etagListMatches(header: string, etag: string): boolean {
  if (header === etag) return true;
  for (const part of header.split(',')) {
    const tag = part.trim();
    if (tag === '*' || tag === etag || (tag.startsWith('W/') && tag.slice(2) === etag)) return true;
  }
  return false;
}

/**
 * The hottest routes' cache hits, answered as hot routes (src/http/hot-routes.ts: before Fastify) instead
 * of Fastify's and Nest's pipeline (guards, pipes, handler, serialization: most of a hit's time). A hit
 * is fully answered here; anything else (a miss, a query or id the controller would refuse, an
 * incomplete cursor, a remembered "not found", the cache off, HEAD) goes on to the controller unchanged,
 * which validates, loads, answers errors and fills the cache. CatalogModule registers both.
 *
 * What a hit keeps: the hot lane's contract (x-request-id, x-served-by, Fastify's shutdown 503,
 * pick_http_requests_total under its route, the access log), pick_cache_hits_total
 * (ReadThroughCache.peek), and it reads the very entries `read` fills, so every invalidation (write,
 * broadcast, reconnect, the stale re-insert guard) applies to it alike. These routes are public and not
 * throttled, so no guard is skipped. Queries go through the pipe's own `wellFormedListQuery` and the
 * service's `listPageKey`, so a hit is keyed exactly as the controller keys it.
 */
@Injectable()
export class CatalogFastPath {
  constructor(private readonly cache: CatalogCache) {}

  /** The hot routes of ProductsController's two reads. */
  hotRoutes(): HotRoute[] {
    return [
      { method: 'GET', url: LIST_ROUTE, answer: (request) => this.listHit(request) },
      { method: 'GET', url: DETAIL_ROUTE, answer: (request) => this.detailHit(request) },
    ];
  }

  private listHit(request: HotRequest): Promise<HotAnswer | undefined> | undefined {
    const query = wellFormedListQuery(request.query);
    if (!query) return undefined;
    let page: ListPageKey;
    try {
      page = listPageKey(query);
    } catch {
      return undefined; // INVALID_CURSOR: the controller answers it
    }
    return this.answer(this.cache.peekListPage(page), request);
  }

  private detailHit(request: HotRequest): Promise<HotAnswer | undefined> | undefined {
    const { id } = request.params;
    if (typeof id !== 'string' || !POSITIVE_ID.test(id)) return undefined;
    // The detail takes no query parameters: the controller refuses any (UndeclaredQueryGuard).
    for (const _key in request.query) return undefined;
    return this.answer(this.cache.peekProduct(id), request);
  }

  private answer(found: Promise<CachedBody | undefined>, request: HotRequest): Promise<HotAnswer | undefined> {
    return found.then(
      (body) => (body ? cachedBodyAnswer(request.headers['if-none-match'], body) : undefined),
      () => undefined,
    );
  }
}
