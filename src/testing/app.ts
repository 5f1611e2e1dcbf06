import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig, type AppConfig } from '../../config/env.js';
import { createApp, startApp } from '../bootstrap.js';
import { HttpClient } from './http.js';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  url: string;
  http: HttpClient;
  close(): Promise<void>;
}

/** The real app, in this process, on a free loopback port, against the test MySQL and Redis. */
export async function startTestApp(
  overrides: Record<string, string> = {},
  options: { logLines?: string[] } = {},
): Promise<TestApp> {
  const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', ...overrides });
  // logLines: Fastify's JSON log lines (request lines at LOG_LEVEL=debug carry requestId and ip) are collected there.
  const logLines = options.logLines;
  const app = await createApp(config, logLines ? { logStream: { write: (line) => void logLines.push(line) } } : {});
  await startApp(app, config);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return { app, config, url, http: new HttpClient(url), close: () => app.close() };
}
