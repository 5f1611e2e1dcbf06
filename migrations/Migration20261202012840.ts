import { Migration } from '@mikro-orm/migrations';

/** Sessions and seller approval: seller status, bans, soft deletion, the per-member session version. */
export class Migration20261202012840 extends Migration {
  override name = 'Migration20261202012840';

  override up(): void | Promise<void> {
    this.addSql(
      `alter table \`member\` add \`seller_status\` enum('PENDING','APPROVED','REJECTED') null, add \`banned_at\` datetime(3) null, add \`deleted_at\` datetime(3) null, add \`session_version\` int unsigned not null default 0;`,
    );
    this.addSql(`alter table \`member\` add index \`member_seller_status_id_index\` (\`seller_status\`, \`id\`);`);
    // Sellers who signed up before approval existed keep selling: they are approved.
    this.addSql(`update \`member\` set \`seller_status\` = 'APPROVED' where \`role\` = 'SELLER';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table \`member\` drop index \`member_seller_status_id_index\`;`);
    this.addSql(
      `alter table \`member\` drop column \`seller_status\`, drop column \`banned_at\`, drop column \`deleted_at\`, drop column \`session_version\`;`,
    );
  }
}
