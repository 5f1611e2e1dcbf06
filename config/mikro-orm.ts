import { Migrator } from '@mikro-orm/migrations';
import { MariaDbDriver } from '@mikro-orm/mariadb';
import { MySqlDriver, type Options } from '@mikro-orm/mysql';
import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { fileURLToPath } from 'node:url';
import { entities } from '../src/database/entities.js';
import type { AppConfig } from './env.js';

const projectRoot = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../..' : '..', import.meta.url));

/**
 * MikroORM options from the typed config. The driver is a setting: production runs
 * MySQL 8 (`mysql`); on MariaDB the `mariadb` driver avoids phantom schema diffs.
 */
export function ormOptions(config: AppConfig, overrides: Partial<Options> = {}): Options {
  return {
    driver: (config.DB_DRIVER === 'mariadb' ? MariaDbDriver : MySqlDriver) as typeof MySqlDriver,
    host: config.DB_HOST,
    port: config.DB_PORT,
    user: config.DB_USER,
    password: config.DB_PASSWORD,
    dbName: config.DB_NAME,
    entities,
    metadataProvider: ReflectMetadataProvider,
    extensions: [Migrator],
    pool: { min: 0, max: config.DB_POOL_MAX },
    timezone: '+00:00',
    forceUtcTimezone: true,
    debug: false,
    allowGlobalContext: false,
    migrations: {
      tableName: 'mikro_orm_migrations',
      path: `${projectRoot}/dist/migrations`,
      pathTs: `${projectRoot}/migrations`,
      glob: '!(*.d).{js,ts}',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts',
    },
    ...overrides,
  } as Options;
}
