import { EntityManager } from '@mikro-orm/mysql';
import { BeforeApplicationShutdown, Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Redis } from 'ioredis';
import { Public } from '../auth/auth.decorators.js';
import { AppError } from '../common/errors.js';

type CheckResult = { status: 'up' } | { status: 'down'; error: string };

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref())]);

async function check(probe: () => Promise<unknown>): Promise<CheckResult> {
  try {
    await withTimeout(probe(), 1500);
    return { status: 'up' };
  } catch (error) {
    return { status: 'down', error: error instanceof Error ? error.message : String(error) };
  }
}

@ApiTags('ops')
@Controller('health')
export class HealthController implements BeforeApplicationShutdown {
  private shuttingDown = false;

  constructor(
    private readonly em: EntityManager,
    private readonly redis: Redis,
  ) {}

  // Before the HTTP server closes (onApplicationShutdown runs after it, when nobody can ask any more).
  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
  }

  @Public()
  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /** 200 only when every dependency answers; 503 with the failing ones otherwise (and while draining). */
  @Public()
  @Get('ready')
  async ready() {
    const checks = {
      mysql: await check(() => this.em.getConnection().execute('select 1')),
      redis: await check(() => this.redis.ping()),
    };
    const ok = !this.shuttingDown && Object.values(checks).every((result) => result.status === 'up');
    const body = { status: ok ? 'ok' : 'unavailable', draining: this.shuttingDown, checks };
    // The global filter keeps `details`: the failing checks stay visible to ops.
    if (!ok) throw new AppError('SERVICE_UNAVAILABLE', 'not ready', body);
    return body;
  }
}
