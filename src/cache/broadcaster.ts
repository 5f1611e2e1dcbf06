import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, Subscription, timeout } from 'rxjs';
import type { AppConfig } from '../../config/env.js';
import { broadcastFailures, invalidationMessages } from './cache.metrics.js';
import { BROADCAST_CLIENT, type BroadcastMap } from '../common/broadcast.js';
import { APP_CONFIG } from '../common/config.module.js';
import { TransportState } from '../redis/transport-state.js';

const PUBLISH_TIMEOUT_MS = 2_000;
const MAX_UNDELIVERED = 10_000;

/**
 * Typed broadcasts to every worker of every server (Redis transport): an event name decides
 * its payload type (`BroadcastMap`). Publish only after the change is committed, so a
 * receiver that reloads reads the new state. Never throws and never holds a write up for long:
 * a message that could not be published is counted, logged and resent when the publisher is
 * back (the receivers' cache TTL bounds staleness meanwhile). Every message carries this
 * deployment's REDIS_PREFIX as `scope` (pub/sub channels ignore Redis dbs), and `accepts`
 * drops those of another deployment sharing the Redis server.
 */
@Injectable()
export class Broadcaster implements OnModuleDestroy {
  private readonly logger = new Logger(Broadcaster.name);
  private readonly scope: string;
  private readonly undelivered = new Map<string, { name: keyof BroadcastMap; payload: object }>();
  private readonly subscription: Subscription;

  constructor(
    @Inject(BROADCAST_CLIENT) private readonly client: ClientProxy,
    @Inject(APP_CONFIG) config: AppConfig,
    transport: TransportState,
  ) {
    this.scope = config.REDIS_PREFIX;
    this.subscription = transport.publisherBack.subscribe(() => this.resendUndelivered());
  }

  onModuleDestroy(): void {
    this.subscription.unsubscribe();
  }

  /** Sends `name` to every worker (this one included); resolves to whether Redis took it. Call after the commit. */
  publishCommitted<K extends keyof BroadcastMap>(name: K, payload: BroadcastMap[K]): Promise<boolean> {
    const id = `${name}:${JSON.stringify(payload)}`;
    const message = { ...payload, scope: this.scope };
    return firstValueFrom(this.client.emit(name, message).pipe(timeout(PUBLISH_TIMEOUT_MS)), {
      defaultValue: undefined,
    }).then(
      () => {
        this.undelivered.delete(id);
        return true;
      },
      (error: unknown) => {
        broadcastFailures.inc({ event: name });
        if (this.undelivered.size < MAX_UNDELIVERED) this.undelivered.set(id, { name, payload });
        this.logger.warn(
          `${id} not broadcast (${String(error)}); other workers stay stale until it is resent or their TTL expires`,
        );
        return false;
      },
    );
  }

  /** A received message of this deployment (counted); false for another deployment's or a malformed one. */
  accepts<K extends keyof BroadcastMap>(name: K, message: unknown): message is BroadcastMap[K] {
    invalidationMessages.inc({ event: name });
    return typeof message === 'object' && message !== null && (message as { scope?: unknown }).scope === this.scope;
  }

  private resendUndelivered(): void {
    const waiting = [...this.undelivered.values()];
    if (waiting.length === 0) return;
    this.logger.log(`publisher back: resending ${waiting.length} broadcasts`);
    for (const { name, payload } of waiting) void this.publishCommitted(name, payload as BroadcastMap[typeof name]);
  }
}
