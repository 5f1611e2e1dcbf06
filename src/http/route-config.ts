/**
 * What a route declares it needs from the HTTP pipeline, as Fastify route config: a feature puts it on
 * its controller method with `@RouteConfig(...)` (@nestjs/platform-fastify), and the pipeline's plugins
 * read it from `request.routeOptions.config`. The pipeline names no feature's route.
 */
declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: no MikroORM request context (the route never uses the request's EntityManager). */
    requestContext?: boolean;
    /** The route reads a multipart/form-data body (any other route refuses one with 415). */
    readsMultipart?: boolean;
  }
}

/** The route never touches the request's EntityManager: creating the context would be wasted work. */
export const NO_REQUEST_CONTEXT = { requestContext: false } as const;

/**
 * The route reads its multipart body itself (@fastify/multipart's request.parts()). The parser takes
 * multipart/form-data on every route and leaves the parts to the route that asks for them: any other
 * route would answer as if no body had been sent, so the pipeline answers 415 there instead
 * (request-rules.ts).
 */
export const READS_MULTIPART = { readsMultipart: true } as const;
