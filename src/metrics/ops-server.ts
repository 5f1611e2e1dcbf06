import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { metricsRegistry } from './metrics.js';

/** PM2's instance number of this worker (0..instances-1; 0 outside PM2). */
export function workerInstance(env: NodeJS.ProcessEnv = process.env): number {
  const instance = Number(env.NODE_APP_INSTANCE ?? 0);
  return Number.isInteger(instance) && instance >= 0 ? instance : 0;
}

const RETRY_MS = 1_000;

/**
 * The worker's own metrics listener: `GET /metrics` on OPS_HOST:(OPS_PORT + instance), nothing else.
 * Through the cluster port a scrape reaches one random worker; here each worker is a target of
 * its own, so a scrape of every port covers the whole server.
 *
 * `exclusive`: the worker binds the port itself (not shared through PM2's cluster master). During
 * `pm2 reload` (or a blue/green deploy on the same host) the new worker of an instance starts
 * while the old one still holds the port: it retries every second and takes over once the old
 * one has closed it at shutdown. The app never fails for its metrics port.
 */
@Injectable()
export class OpsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OpsServer.name);
  private server: Server | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private warned = false;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** The port this worker listens (or tries to listen) on; 0 when the listener is off. */
  get port(): number {
    return this.config.OPS_PORT === 0 ? 0 : this.config.OPS_PORT + workerInstance();
  }

  onApplicationBootstrap(): void {
    if (this.port === 0) return;
    this.listen();
  }

  private listen(): void {
    if (this.stopped) return;
    const server = createServer((request, response) => {
      const path = (request.url ?? '').split('?')[0];
      if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      metricsRegistry.metrics().then(
        (text) =>
          response
            .writeHead(200, { 'content-type': metricsRegistry.contentType })
            .end(request.method === 'HEAD' ? undefined : text),
        (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
      );
    });
    server.keepAliveTimeout = 65_000;
    server.on('error', (error: NodeJS.ErrnoException) => {
      server.close();
      if (this.server === server) this.server = undefined;
      if (!this.warned) {
        this.logger.warn(
          `metrics listener ${this.config.OPS_HOST}:${this.port}: ${error.code ?? error.message}; retrying every ${RETRY_MS} ms`,
        );
        this.warned = true;
      }
      if (!this.stopped) this.retry = setTimeout(() => this.listen(), RETRY_MS).unref();
    });
    server.listen({ host: this.config.OPS_HOST, port: this.port, exclusive: true }, () => {
      if (this.warned) this.logger.log(`metrics listener ${this.config.OPS_HOST}:${this.port} up`);
    });
    server.unref();
    this.server = server;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const server = this.server;
    this.server = undefined;
    if (!server?.listening) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
