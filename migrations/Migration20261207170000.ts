import { Migration } from '@mikro-orm/migrations';

/**
 * `coupon_write_claims(coupon_id, member_ids)`: one coupon's claims written in one round trip. The rows go in
 * (INSERT IGNORE: a replayed claim is skipped, a claim whose member is gone is skipped with a warning), then
 * `coupon_issued.issued_count` grows by exactly the rows inserted, only if it stays within `max_issuance`,
 * and the transaction commits; otherwise it rolls back. Answers one row: `inserted`, `fitted`.
 *
 * Server-side because the count's row lock is held from its update to the commit, and a batch driven from a
 * busy worker waited its event loop in between: one coupon's batches queued behind each other (the bench's
 * drain: 11,486-14,794 rows/s, 45,075 before the count existed). SQL SECURITY INVOKER: it runs with the
 * caller's privileges (the app's EXECUTE on the database, deploy/provision/security.sh).
 */
export class Migration20261207170000 extends Migration {
  override name = 'Migration20261207170000';

  override up(): void | Promise<void> {
    this.addSql(`drop procedure if exists \`coupon_write_claims\`;`);
    this.addSql(`create procedure \`coupon_write_claims\`(in p_coupon_id bigint unsigned, in p_member_ids json)
  sql security invoker
  modifies sql data
begin
  declare v_inserted int unsigned default 0;
  declare v_fitted boolean default false;
  declare exit handler for sqlexception begin rollback; resignal; end;
  start transaction;
  insert ignore into \`member_coupon\` (\`created_at\`, \`updated_at\`, \`coupon_id\`, \`member_id\`)
    select utc_timestamp(3), utc_timestamp(3), p_coupon_id, claim.member_id
    from json_table(p_member_ids, '$[*]' columns (member_id bigint unsigned path '$')) claim;
  set v_inserted = row_count();
  -- Nothing inserted (a replay, or claims whose member or coupon is gone): nothing to count. Otherwise the
  -- update changes the count's row or matches none, so row_count() is 1 or 0 whatever the client's
  -- found-rows flag.
  if v_inserted > 0 then
    update \`coupon_issued\` ci join \`coupon\` c on c.\`id\` = ci.\`coupon_id\`
      set ci.\`issued_count\` = ci.\`issued_count\` + v_inserted
      where ci.\`coupon_id\` = p_coupon_id and ci.\`issued_count\` + v_inserted <= c.\`max_issuance\`;
    set v_fitted = (row_count() = 1);
  else
    set v_fitted = true;
  end if;
  if v_fitted then
    commit;
  else
    rollback;
  end if;
  select v_inserted as inserted, v_fitted as fitted;
end;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop procedure if exists \`coupon_write_claims\`;`);
  }
}
