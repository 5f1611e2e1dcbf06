import { Migration } from '@mikro-orm/migrations';

export class Migration20261125100608 extends Migration {
  override name = 'Migration20261125100608';

  override up(): void | Promise<void> {
    this.addSql(
      `create table \`media_object\` (\`id\` bigint unsigned not null auto_increment primary key, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, \`object_key\` varchar(255) not null, \`content_type\` varchar(50) not null, \`size_bytes\` int unsigned not null, \`uploaded_by_id\` bigint unsigned null, \`state\` enum('STORED','DELETING') not null default 'STORED') default character set utf8mb4 engine = InnoDB;`,
    );
    this.addSql(`alter table \`media_object\` add unique \`media_object_object_key_unique\` (\`object_key\`);`);
    this.addSql(`alter table \`media_object\` add index \`media_object_uploaded_by_id_index\` (\`uploaded_by_id\`);`);

    this.addSql(`alter table \`product_image\` add index \`product_image_object_key_idx\` (\`object_key\`);`);

    this.addSql(
      `alter table \`media_object\` add constraint \`media_object_uploaded_by_id_foreign\` foreign key (\`uploaded_by_id\`) references \`member\` (\`id\`) on delete set null;`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists \`media_object\`;`);

    this.addSql(`alter table \`product_image\` drop index \`product_image_object_key_idx\`;`);
  }
}
