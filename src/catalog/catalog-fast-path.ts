import { Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify';
import { POSITIVE_ID } from '../common/validation.js';
import { CatalogCache, type CachedBody, type ListPageKey } from './catalog-cache.js';
import { listPageKey } from './catalog.service.js';
import { wellFormedListQuery } from './product-list-query.pipe.js';

/** The public catalog reads, as Nest registers ProductsController's routes with Fastify. */
const LIST_ROUTE = '/api/general/products';
const DETAIL_ROUTE = '/api/general/products/:id';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Answers with cached catalog bytes: 304 when the request's If-None-Match names their ETag, else
 * 200 with the bytes. The one way both the controller and the fast path answer, so a hit and a
 * miss carry the same headers. `no-cache`: a browser or proxy may keep the page but must ask
 * again (a cheap 304) every time, so none serves it past an invalidation.
 */
export function sendCachedBody(reply: FastifyReply, body: CachedBody): void {
  void reply.header('etag', body.etag).header('cache-control', 'no-cache');
  const ifNoneMatch = reply.request.headers['if-none-match'];
  if (ifNoneMatch !== undefined && etagListMatches(ifNoneMatch, body.etag)) {
    void reply.code(304).send();
    return;
  }
  void reply.header('content-type', JSON_TYPE).send(body.json);
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
 * The hottest routes' cache hits, answered in an app-wide Fastify onRequest hook (bootstrap.ts adds
 * it before the one that creates MikroORM's request context) instead of Nest's pipeline (request
 * context, guards, pipes, handler, serialization: most of a hit's time). A hit is fully answered
 * here; anything else (a miss, a query or id the controller would refuse, an incomplete cursor, a
 * remembered "not found", the cache off, HEAD) goes on to the controller unchanged, which
 * validates, loads, answers errors and fills the cache.
 *
 * What a hit keeps: the app-wide onRequest hook before this one (bootstrap.ts) has run
 * (x-request-id, x-served-by, the shutdown 503), the onResponse hook still counts it in
 * pick_http_requests_total under its route, pick_cache_hits_total counts it (ReadThroughCache.peek),
 * and it reads the very entries `read` fills, so every invalidation (write, broadcast, reconnect,
 * the stale re-insert guard) applies to it alike. These routes are public and not throttled, so no
 * guard is skipped. Queries go through the pipe's own `wellFormedListQuery` and the service's
 * `listPageKey`, so a hit is keyed exactly as the controller keys it.
 */
@Injectable()
export class CatalogFastPath {
  private readonly routes = new Set<string>();

  constructor(private readonly cache: CatalogCache) {}

  /** Checks, as Nest registers its routes, that the routes this answers for exist: call before the app is initialised. */
  attach(fastify: FastifyInstance): void {
    fastify.addHook('onRoute', (route: RouteOptions) => {
      if (route.method === 'GET' && (route.url === LIST_ROUTE || route.url === DETAIL_ROUTE))
        this.routes.add(route.url);
    });
    // A renamed route would silently lose its fast path: refuse to start instead.
    fastify.addHook('onReady', (done) => {
      const missing = [LIST_ROUTE, DETAIL_ROUTE].filter((url) => !this.routes.has(url));
      done(missing.length > 0 ? new Error(`catalog fast path: no GET route ${missing.join(', ')}`) : undefined);
    });
  }

  /** The onRequest hook: a hit is answered, anything else goes on (`done`). */
  onRequest(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    // The raw URL first: every other request passes with one string check.
    if (request.method !== 'GET' || !request.url.startsWith(LIST_ROUTE)) return done();
    const route = request.routeOptions.url;
    if (route === LIST_ROUTE) return this.listHit(request, reply, done);
    if (route === DETAIL_ROUTE) return this.detailHit(request, reply, done);
    done();
  }

  private listHit(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const query = wellFormedListQuery(request.query as Record<string, unknown>);
    if (!query) return done();
    let page: ListPageKey;
    try {
      page = listPageKey(query);
    } catch {
      return done(); // INVALID_CURSOR: the controller answers it
    }
    this.answer(this.cache.peekListPage(page), reply, done);
  }

  private detailHit(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const { id } = request.params as { id?: unknown };
    if (typeof id !== 'string' || !POSITIVE_ID.test(id)) return done();
    // The detail takes no query parameters: the controller refuses any (UndeclaredQueryGuard).
    for (const _key in request.query as object) return done();
    this.answer(this.cache.peekProduct(id), reply, done);
  }

  private answer(found: Promise<CachedBody | undefined>, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    found.then(
      (body) => (body ? sendCachedBody(reply, body) : done()),
      () => done(),
    );
  }
}
