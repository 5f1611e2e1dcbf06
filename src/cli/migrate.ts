/**
 * The migration step: `npm run migration:up` (deploys and the local bring-up run it once,
 * never every worker). Runs under a MySQL named lock so two deploys cannot race.
 *   up | down | pending | create [name] | check | reset (drops the database: never in production)
 */
import 'reflect-metadata';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM } from '@mikro-orm/mysql';
import { assertNodeVersion, loadConfig, type AppConfig } from '../../config/env.js';
import { ormOptions } from '../../config/mikro-orm.js';
import { exitOnConfigError } from './cli-support.js';

async function main(): Promise<void> {
  assertNodeVersion();
  const config = migrationConfig(loadConfig());
  const command = process.argv[2] ?? 'up';
  if (command === 'reset') {
    if (config.NODE_ENV === 'production') throw new Error('reset drops the database: refused with NODE_ENV=production');
    await runOnServer(`drop database if exists \`${config.DB_NAME.replace(/`/g, '')}\``);
  }
  await runOnServer(
    `create database if not exists \`${config.DB_NAME.replace(/`/g, '')}\` character set utf8mb4 collate utf8mb4_unicode_ci`,
  );
  const orm = await MikroORM.init(ormOptions(config, { preferTs: import.meta.url.endsWith('.ts') }));
  const connection = orm.em.getConnection();
  try {
    const [{ locked }] = await connection.execute<{ locked: number }[]>(
      "select get_lock('pick_migrations', 120) as locked",
    );
    if (Number(locked) !== 1) throw new Error('could not take the migration lock within 120 s');
    const migrator = orm.migrator as unknown as Migrator;
    switch (command) {
      case 'up':
      case 'reset': {
        const done = await migrator.up();
        console.log(done.length ? `applied: ${done.map((m) => m.name).join(', ')}` : 'database is up to date');
        break;
      }
      case 'down': {
        const done = await migrator.down();
        console.log(done.length ? `reverted: ${done.map((m) => m.name).join(', ')}` : 'nothing to revert');
        break;
      }
      case 'pending':
        console.log((await migrator.getPending()).map((m) => m.name).join('\n') || 'none');
        break;
      case 'create': {
        const initial = (await migrator.getExecuted()).length === 0 && (await migrator.getPending()).length === 0;
        const result = await migrator.create(undefined, false, initial, process.argv[3]);
        console.log(result.fileName ? `created ${result.fileName}` : 'no schema changes');
        break;
      }
      case 'check': {
        const differs = await migrator.checkSchema();
        console.log(differs ? 'schema differs from the entities: create a migration' : 'schema matches the entities');
        if (differs) process.exitCode = 1;
        break;
      }
      default:
        throw new Error(`unknown command ${command}: use up | down | pending | create [name] | check | reset`);
    }
  } finally {
    await connection.execute("select release_lock('pick_migrations')").catch(() => undefined);
    await orm.close(true);
  }

  /** Statements that need a connection outside the database (create / drop it); information_schema: any user may open it. */
  async function runOnServer(sql: string): Promise<void> {
    const server = await MikroORM.init(
      ormOptions(config, { dbName: 'information_schema', entities: [], discovery: { warnWhenNoEntities: false } }),
    );
    try {
      await server.em.getConnection().execute(sql);
    } finally {
      await server.close(true);
    }
  }
}

/** The migration step connects as DB_MIGRATION_USER when set (schema privileges); the app's user has data privileges only. */
function migrationConfig(config: AppConfig): AppConfig {
  if (!config.DB_MIGRATION_USER) return config;
  return Object.freeze({ ...config, DB_USER: config.DB_MIGRATION_USER, DB_PASSWORD: config.DB_MIGRATION_PASSWORD });
}

main().catch(exitOnConfigError);
