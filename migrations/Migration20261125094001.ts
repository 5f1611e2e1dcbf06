import { Migration } from '@mikro-orm/migrations';

export class Migration20261125094001 extends Migration {
  override name = 'Migration20261125094001';

  override up(): void | Promise<void> {
    this.addSql(
      `create table \`event\` (\`id\` bigint unsigned not null auto_increment primary key, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, \`title\` varchar(100) not null, \`starts_at\` datetime(3) not null, \`ends_at\` datetime(3) not null) default character set utf8mb4 engine = InnoDB;`,
    );

    this.addSql(
      `create table \`coupon\` (\`id\` bigint unsigned not null auto_increment primary key, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, \`event_id\` bigint unsigned not null, \`name\` varchar(100) not null, \`discount_type\` enum('PERCENTAGE','FIXED_AMOUNT') not null, \`discount_value\` int unsigned not null, \`minimum_product_price\` int unsigned not null default 0, \`valid_from\` datetime(3) not null, \`valid_until\` datetime(3) not null, \`max_issuance\` int unsigned not null) default character set utf8mb4 engine = InnoDB;`,
    );
    this.addSql(`alter table \`coupon\` add index \`coupon_event_id_index\` (\`event_id\`);`);

    this.addSql(
      `create table \`member\` (\`id\` bigint unsigned not null auto_increment primary key, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, \`email\` varchar(254) not null, \`nickname\` varchar(30) not null, \`phone\` varchar(20) not null, \`name\` varchar(50) not null, \`address\` varchar(200) not null, \`password_hash\` varchar(255) not null, \`role\` enum('CUSTOMER','SELLER','ADMIN') not null default 'CUSTOMER') default character set utf8mb4 engine = InnoDB;`,
    );
    this.addSql(`alter table \`member\` add unique \`member_email_unique\` (\`email\`);`);
    this.addSql(`alter table \`member\` add unique \`member_nickname_unique\` (\`nickname\`);`);
    this.addSql(`alter table \`member\` add unique \`member_phone_unique\` (\`phone\`);`);

    this.addSql(
      `create table \`member_coupon\` (\`id\` bigint unsigned not null auto_increment primary key, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, \`coupon_id\` bigint unsigned not null, \`member_id\` bigint unsigned not null, \`status\` enum('UNUSED','USED') not null default 'UNUSED', \`used_at\` datetime(3) null) default character set utf8mb4 engine = InnoDB;`,
    );
    this.addSql(`alter table \`member_coupon\` add index \`member_coupon_coupon_id_index\` (\`coupon_id\`);`);
    this.addSql(`alter table \`member_coupon\` add index \`member_coupon_member_idx\` (\`member_id\`);`);
    this.addSql(
      `alter table \`member_coupon\` add unique \`member_coupon_coupon_member_uq\` (\`coupon_id\`, \`member_id\`);`,
    );

    this.addSql(
      `create table \`product\` (\`id\` bigint unsigned not null auto_increment primary key, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, \`seller_id\` bigint unsigned not null, \`name\` varchar(100) not null, \`price\` int unsigned not null, \`description\` text not null, \`stock\` int unsigned not null, \`category\` enum('TOP','PANTS','SHOES') not null, \`status\` enum('IN_STOCK','SOLD_OUT') not null default 'IN_STOCK') default character set utf8mb4 engine = InnoDB;`,
    );
    this.addSql(`alter table \`product\` add index \`product_seller_id_index\` (\`seller_id\`);`);
    this.addSql(
      `alter table \`product\` add index \`product_category_price_id_idx\` (\`category\`, \`price\`, \`id\`);`,
    );
    this.addSql(`alter table \`product\` add index \`product_category_id_idx\` (\`category\`, \`id\`);`);
    this.addSql(`alter table \`product\` add index \`product_price_id_idx\` (\`price\`, \`id\`);`);

    this.addSql(
      `create table \`product_image\` (\`id\` bigint unsigned not null auto_increment primary key, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, \`product_id\` bigint unsigned not null, \`object_key\` varchar(255) not null, \`type\` enum('MAIN','DETAIL') not null, \`position\` smallint unsigned not null) default character set utf8mb4 engine = InnoDB;`,
    );
    this.addSql(`alter table \`product_image\` add index \`product_image_product_id_index\` (\`product_id\`);`);
    this.addSql(
      `alter table \`product_image\` add index \`product_image_product_position_idx\` (\`product_id\`, \`position\`);`,
    );

    this.addSql(
      `alter table \`coupon\` add constraint \`coupon_event_id_foreign\` foreign key (\`event_id\`) references \`event\` (\`id\`) on delete restrict;`,
    );

    this.addSql(
      `alter table \`member_coupon\` add constraint \`member_coupon_coupon_id_foreign\` foreign key (\`coupon_id\`) references \`coupon\` (\`id\`) on delete restrict;`,
    );
    this.addSql(
      `alter table \`member_coupon\` add constraint \`member_coupon_member_id_foreign\` foreign key (\`member_id\`) references \`member\` (\`id\`) on delete cascade;`,
    );

    this.addSql(
      `alter table \`product\` add constraint \`product_seller_id_foreign\` foreign key (\`seller_id\`) references \`member\` (\`id\`) on delete restrict;`,
    );

    this.addSql(
      `alter table \`product_image\` add constraint \`product_image_product_id_foreign\` foreign key (\`product_id\`) references \`product\` (\`id\`) on delete cascade;`,
    );
  }
}
