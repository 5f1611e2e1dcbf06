import type { Opt, Rel } from '@mikro-orm/core';
import { Entity, Enum, ManyToOne, Property, Unique } from '@mikro-orm/decorators/legacy';
import { BaseEntity } from '../database/base.entity.js';
import { Member } from '../members/member.entity.js';

export enum MediaObjectState {
  /** In storage; a product may reference it. */
  STORED = 'STORED',
  /** Chosen for deletion (no product referenced it under lock); never attachable again. */
  DELETING = 'DELETING',
}

/**
 * The record of an object this app put in storage. A product may only reference a key that
 * has a STORED record; the cleanup job flips it to DELETING under a row lock before deleting
 * the object, so an attach and a delete of the same key are serialized by MySQL.
 */
@Entity({ tableName: 'media_object' })
export class MediaObject extends BaseEntity {
  @Property({ length: 255 })
  @Unique({ name: 'media_object_object_key_unique' })
  objectKey!: string;

  @Property({ length: 50 })
  contentType!: string;

  @Property({ type: 'integer', unsigned: true })
  sizeBytes!: number;

  /** null for objects the app put itself (demo data). */
  @ManyToOne(() => Member, { nullable: true, deleteRule: 'set null' })
  uploadedBy?: Rel<Member> | null;

  @Enum({ items: () => MediaObjectState })
  state: Opt<MediaObjectState> = MediaObjectState.STORED;
}
