import { Migration } from '@mikro-orm/migrations';

/**
 * The stock's MySQL side: `coupon_issued.issued_count` counts the member_coupon rows ever written for a
 * coupon, kept by the insert that writes them, which admits no row past `max_issuance`: a Redis that accepted
 * too many (one that came back with older data while claims it had forgotten were still being written) cannot
 * put the coupon past its stock. A table of its own (src/coupons/coupon-issued.entity.ts says why). Counted
 * from the rows once.
 */
export class Migration20261207071500 extends Migration {
  override name = 'Migration20261207071500';

  override up(): void | Promise<void> {
    this.addSql(
      `create table \`coupon_issued\` (\`coupon_id\` bigint unsigned not null, \`issued_count\` int unsigned not null default 0, primary key (\`coupon_id\`)) default character set utf8mb4 engine = InnoDB;`,
    );
    this.addSql(
      `alter table \`coupon_issued\` add constraint \`coupon_issued_coupon_id_foreign\` foreign key (\`coupon_id\`) references \`coupon\` (\`id\`) on update cascade on delete cascade;`,
    );
    this.addSql(
      `insert into \`coupon_issued\` (\`coupon_id\`, \`issued_count\`) select c.\`id\`, (select count(*) from \`member_coupon\` mc where mc.\`coupon_id\` = c.\`id\`) from \`coupon\` c;`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists \`coupon_issued\`;`);
  }
}
