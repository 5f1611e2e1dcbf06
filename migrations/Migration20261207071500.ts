import { Migration } from '@mikro-orm/migrations';

/**
 * The stock's MySQL side: `coupon.issued_count` counts the member_coupon rows ever written for the coupon,
 * kept by the insert that writes them, under the coupon's row lock. The insert admits no row past
 * `max_issuance`, so a Redis that accepted too many (one that came back with older data while claims it had
 * forgotten were still being written) cannot put the coupon past its stock. Counted from the rows once.
 */
export class Migration20261207071500 extends Migration {
  override name = 'Migration20261207071500';

  override up(): void | Promise<void> {
    this.addSql(`alter table \`coupon\` add \`issued_count\` int unsigned not null default 0;`);
    this.addSql(
      `update \`coupon\` c set c.\`issued_count\` = (select count(*) from \`member_coupon\` mc where mc.\`coupon_id\` = c.\`id\`);`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table \`coupon\` drop column \`issued_count\`;`);
  }
}
