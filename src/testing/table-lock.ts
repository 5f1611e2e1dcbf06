import { MikroORM } from '@mikro-orm/mysql';
import type { AppConfig } from '../../config/env.js';
import { ormOptions } from '../../config/mikro-orm.js';

/**
 * Holds a WRITE lock on one table of `config`'s database (a MySQL stall, as the writers see it: their
 * inserts wait) until `release()`. LOCK TABLES belongs to a session: a pool of exactly one connection
 * makes the lock and the unlock run on the same one.
 */
export async function lockTable(config: AppConfig, table: string): Promise<{ release: () => Promise<void> }> {
  if (!/^[a-z_]+$/.test(table)) throw new Error(`lockTable: not a table name: ${table}`);
  const orm = await MikroORM.init(ormOptions(config, { pool: { min: 1, max: 1 } }));
  const connection = orm.em.getConnection();
  await connection.execute(`lock tables ${table} write`);
  return {
    release: async () => {
      try {
        await connection.execute('unlock tables');
      } finally {
        await orm.close(true);
      }
    },
  };
}

/**
 * Holds one row's lock (SELECT … FOR UPDATE in an open transaction) until `release()`: reads go on, every
 * write of that row waits (an admin's update of a coupon, the issuance insert's lock on it).
 */
export async function lockRow(config: AppConfig, table: string, id: string): Promise<{ release: () => Promise<void> }> {
  if (!/^[a-z_]+$/.test(table)) throw new Error(`lockRow: not a table name: ${table}`);
  const orm = await MikroORM.init(ormOptions(config, { pool: { min: 1, max: 1 } }));
  const connection = orm.em.getConnection();
  await connection.execute('start transaction');
  await connection.execute(`select id from ${table} where id = ? for update`, [id]);
  return {
    release: async () => {
      try {
        await connection.execute('rollback');
      } finally {
        await orm.close(true);
      }
    },
  };
}
