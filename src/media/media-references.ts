import type { EntityManager } from '@mikro-orm/mysql';
import { Injectable } from '@nestjs/common';

/**
 * Does a row still reference this stored object? Asked by the cleanup job inside its
 * transaction, under a shared lock (see MediaCleanupProcessor), for each key it may delete.
 */
export type MediaReferenceCheck = (tx: EntityManager, objectKey: string) => Promise<boolean>;

/**
 * Who uses uploaded objects. Media does not know its users: each feature that stores object
 * keys (the catalog's product images) registers a check here at start-up, so media never
 * imports them. With no check registered the cleanup refuses to delete anything.
 */
@Injectable()
export class MediaReferences {
  private readonly checks = new Map<string, MediaReferenceCheck>();

  register(owner: string, check: MediaReferenceCheck): void {
    this.checks.set(owner, check);
  }

  async used(tx: EntityManager, objectKey: string): Promise<boolean> {
    if (this.checks.size === 0) throw new Error('no media reference check registered: refusing to delete objects');
    for (const check of this.checks.values()) if (await check(tx, objectKey)) return true;
    return false;
  }
}
