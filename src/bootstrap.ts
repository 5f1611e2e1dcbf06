import { ConsoleLogger, Logger, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '../config/env.js';
import { AppModule } from './app.module.js';
import { httpAdapterOptions, installHttpPipeline } from './http/pipeline.js';
import { connectTransport, startTransport } from './redis/transport.js';

function nestLogLevels(level: AppConfig['LOG_LEVEL']): LogLevel[] {
  const order: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
  const upTo = { silent: -1, fatal: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 }[level] ?? 3;
  return order.slice(0, upTo + 1);
}

/**
 * Builds the hybrid app (HTTP + Redis-transport microservice) without listening, so the PM2 entry point
 * and the tests start exactly the same thing (`logStream`: where Fastify's JSON log lines go instead of
 * stdout; tests only). The HTTP pipeline is src/http's; the transport src/redis's.
 */
export async function createApp(
  config: AppConfig,
  options: { logStream?: { write(line: string): void } } = {},
): Promise<NestFastifyApplication> {
  // bodyParser: false: the pipeline installs the one JSON parser; any other body type is 415.
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    new FastifyAdapter(httpAdapterOptions(config, options)),
    {
      bodyParser: false,
      logger: new ConsoleLogger({ json: true, colors: false, logLevels: nestLogLevels(config.LOG_LEVEL) }),
    },
  );
  await installHttpPipeline(app, config);
  connectTransport(app, config);
  app.enableShutdownHooks();
  return app;
}

/** Starts the transport and, unless this is a worker-only process, the HTTP listener. */
export async function startApp(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  await startTransport(app, config);
  if (config.HTTP_ENABLED) {
    await app.listen({ port: config.PORT, host: config.HOST });
    Logger.log(`listening on http://${config.HOST}:${config.PORT}`, 'Bootstrap');
  } else {
    await app.init();
    Logger.log('worker-only process: no HTTP listener', 'Bootstrap');
  }
}
