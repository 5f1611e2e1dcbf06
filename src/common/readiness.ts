import { Global, Injectable, Module } from '@nestjs/common';
import { withTimeout } from './timeout.js';

/** The dependencies /health/ready reports, in the order it lists them. */
export const READINESS_NAMES = ['mysql', 'redis', 'transport', 'queue', 'storage'] as const;
export type ReadinessName = (typeof READINESS_NAMES)[number];

/** `detail`: what an up dependency reports about itself (Redis: version, role, persistence). */
export type CheckResult = { status: 'up'; detail?: string } | { status: 'down'; error: string };

export interface ReadinessCheck {
  name: ReadinessName;
  /** false: reported only; a failure does not take the worker out of the load balancer. */
  gates: boolean;
  /** Resolves when the dependency answers (with a string: its detail); rejects (or times out) when it does not. */
  probe: () => Promise<unknown>;
}

const PROBE_TIMEOUT_MS = 1500;

async function run(check: ReadinessCheck): Promise<CheckResult> {
  try {
    const answer = await withTimeout(
      check.probe(),
      PROBE_TIMEOUT_MS,
      () => new Error(`timed out after ${PROBE_TIMEOUT_MS} ms`),
    );
    return typeof answer === 'string' ? { status: 'up', detail: answer } : { status: 'up' };
  } catch (error) {
    return { status: 'down', error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Readiness checks, registered by the module that owns each dependency (as Vendure's
 * HealthCheckRegistryService): the health module runs them without importing any feature.
 */
@Injectable()
export class ReadinessRegistry {
  private readonly checks = new Map<ReadinessName, ReadinessCheck>();

  register(check: ReadinessCheck): void {
    if (this.checks.has(check.name)) throw new Error(`readiness check "${check.name}" is registered twice`);
    this.checks.set(check.name, check);
  }

  /** Runs every check at once (`gatingOnly`: only those that gate); `ok` when every gating check is up; `degraded`: the non-gating ones down. */
  async runAll(
    options: { gatingOnly?: boolean } = {},
  ): Promise<{ ok: boolean; results: Partial<Record<ReadinessName, CheckResult>>; degraded: ReadinessName[] }> {
    const registered = READINESS_NAMES.flatMap((name) => this.checks.get(name) ?? []).filter(
      (check) => check.gates || !options.gatingOnly,
    );
    const outcomes = await Promise.all(registered.map(run));
    const results = Object.fromEntries(registered.map((check, i) => [check.name, outcomes[i]]));
    const failed = registered.filter((_, i) => outcomes[i].status === 'down');
    return {
      ok: failed.every((check) => !check.gates),
      results,
      degraded: failed.filter((check) => !check.gates).map((check) => check.name),
    };
  }
}

@Global()
@Module({ providers: [ReadinessRegistry], exports: [ReadinessRegistry] })
export class ReadinessModule {}
