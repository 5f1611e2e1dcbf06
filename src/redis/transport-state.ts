import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { INestMicroservice } from '@nestjs/common';
import { ClientProxy } from '@nestjs/microservices';
import { Subject } from 'rxjs';
import { BROADCAST_CLIENT } from '../common/broadcast.js';

type Connection = 'starting' | 'up' | 'down';

/**
 * What this worker knows about the broadcast transport: whether its subscriber (the
 * microservice's Redis connection that receives broadcasts) and its publisher
 * (BROADCAST_CLIENT) are connected. Both reconnect by themselves (retryAttempts/retryDelay);
 * `resubscribed` fires when the subscriber is back after a loss, because any broadcast sent
 * meanwhile was lost (Redis pub/sub keeps nothing) and local caches must not trust it.
 */
@Injectable()
export class TransportState implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Transport');
  private subscriber: Connection = 'starting';
  private publisher: Connection = 'starting';
  private closing = false;
  private readonly resubscribedSubject = new Subject<void>();
  private readonly publisherBackSubject = new Subject<void>();
  /** The subscriber is connected again after a loss: broadcasts may have been missed. */
  readonly resubscribed = this.resubscribedSubject.asObservable();
  /** The publisher is connected again after a loss: broadcasts that failed can be resent. */
  readonly publisherBack = this.publisherBackSubject.asObservable();

  constructor(@Inject(BROADCAST_CLIENT) private readonly client: ClientProxy) {
    client.status.subscribe((status) => {
      const was = this.publisher;
      this.publisher = status === 'connected' ? 'up' : 'down';
      if (was === 'down' && this.publisher === 'up') this.publisherBackSubject.next();
    });
  }

  /** Called once by bootstrap with the Redis-transport microservice of this worker. */
  watch(transport: INestMicroservice): void {
    // ServerRedis reports events of its 'sub' and 'pub' ioredis clients; only 'sub' receives.
    transport.on('ready', (type: string) => {
      if (type !== 'sub') return;
      const was = this.subscriber;
      this.subscriber = 'up';
      // ioredis (autoResubscribe) has re-sent SUBSCRIBE before emitting 'ready'.
      if (was === 'down') {
        this.logger.log('subscriber reconnected: dropping what may have missed an invalidation');
        this.resubscribedSubject.next();
      }
    });
    transport.on('close', (type: string) => {
      if (type === 'sub' && this.subscriber !== 'down') {
        this.subscriber = 'down';
        if (!this.closing) this.logger.warn('subscriber lost its Redis connection; reconnecting');
      }
    });
  }

  /** Connects the publisher at boot rather than on the first write (so health is meaningful). */
  onApplicationBootstrap(): void {
    this.client.connect().catch((error: unknown) => this.logger.warn(`publisher: ${String(error)}`));
  }

  beforeApplicationShutdown(): void {
    this.closing = true;
  }

  /** Throws unless both directions are connected (for /health/ready). */
  assertUp(): void {
    if (this.subscriber !== 'up' || this.publisher !== 'up') {
      throw new Error(`subscriber ${this.subscriber}, publisher ${this.publisher}`);
    }
  }
}
