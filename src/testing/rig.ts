import { MikroORM } from '@mikro-orm/mysql';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadConfig, type AppConfig } from '../../config/env.js';
import { ormOptions } from '../../config/mikro-orm.js';
import type { MintedMember } from '../cli/mint-members.js';
import { MemberRole } from '../members/member.entity.js';
import { Pm2Cluster } from './cluster.js';
import { mint } from './fixtures.js';
import { sleep } from './poll.js';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

/**
 * What the fault, reconciliation and failover tests share: their own database (reset through the real
 * migration step), an admin and `members` minted into it, and a 2-worker PM2 cluster on it, all with
 * `env` (their own Redis, database, prefix). The services `env` points at are the test's to start first.
 */
export class ClusterRig {
  readonly config: AppConfig;
  readonly cluster: Pm2Cluster;
  orm!: MikroORM;
  admin!: string;
  members: MintedMember[] = [];
  private used = 0;

  constructor(private readonly options: { name: string; port: number; env: Record<string, string>; members: number }) {
    this.config = loadConfig({ ...process.env, ...options.env });
    this.cluster = new Pm2Cluster({ name: options.name, port: options.port, instances: 2, env: options.env });
  }

  async start(): Promise<this> {
    await run(process.execPath, ['dist/src/cli/migrate.js', 'reset'], {
      cwd: root,
      env: { ...process.env, ...this.options.env },
    });
    this.orm = await MikroORM.init(ormOptions(this.config));
    this.admin = (await mint(this.config, 1, MemberRole.ADMIN))[0].accessToken;
    this.members = await mint(this.config, this.options.members);
    await this.cluster.start();
    return this;
  }

  /** The next `n` members no test of the file has used. */
  take(n: number): MintedMember[] {
    return this.members.slice(this.used, (this.used += n));
  }

  /** A query on the rig's database; once more after 500 ms (the pool may have lost a killed server's connections). */
  query = async (sql: string, params: unknown[]): Promise<{ member_id: string }[]> => {
    try {
      return await this.orm.em.getConnection().execute<{ member_id: string }[]>(sql, params);
    } catch {
      await sleep(500);
      return this.orm.em.getConnection().execute<{ member_id: string }[]>(sql, params);
    }
  };

  /** The member ids with a row for the coupon. */
  async rowMembers(couponId: string): Promise<Set<string>> {
    const rows = await this.query('select member_id from member_coupon where coupon_id = ?', [couponId]);
    return new Set(rows.map((row) => String(row.member_id)));
  }

  async stop(): Promise<void> {
    await this.cluster.stop();
    await this.orm?.close(true);
  }
}
