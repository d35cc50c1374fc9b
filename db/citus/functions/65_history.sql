-- credits.get_history on a Citus cluster: newest first by when the change
-- was made (created_at, the start of its transaction), then by id.
--
-- Ids come from a sequence per node on Citus (each node draws from its own
-- range), so an account's ids stop following its history once its shard
-- moves to another node: ordering by id alone would put the moved account's
-- new rows after its old ones. before_id still names the row a page ended
-- with; the next page holds the rows before it in that order. An unknown
-- before_id (not a row of the account) is PT404, not an empty page. The
-- single-node twin is db/functions/90_api/113_get_history.sql (ordered by id,
-- which follows the one sequence there).

create or replace function credits.get_history(account_id text, page_size integer default 50,
                                               before_id bigint default null)
returns setof credits.ledger
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_before credits_private.ledger_entries;
begin
  perform credits_private._account_to_read(account_id);
  if page_size is null or page_size not between 1 and 1000 then
    raise exception 'page_size must be between 1 and 1000, got %', page_size
      using errcode = 'PT422', hint = 'Page with before_id instead of asking for more rows at once.';
  end if;
  if page_size > 100 and not credits_private._caller_sees_all() then
    raise exception 'page_size must be between 1 and 100 for a credits_user, got %', page_size
      using errcode = 'PT422', hint = 'Page with before_id instead of asking for more rows at once.';
  end if;
  if before_id is not null then
    select l.* into v_before
    from credits_private.ledger_entries l
    where l.account_id = get_history.account_id and l.entry_id = before_id;
    if not found then
      raise exception 'transaction % is not in the history of account %', before_id, account_id
        using errcode = 'PT404', hint = 'Pass as before_id the transaction_id of the last row of the previous page.';
    end if;
  end if;
  return query
  select l.entry_id, l.account_id, l.credit_type, l.kind, l.amount, l.balance_before, l.balance_after,
         l.available_after, l.feature, l.units, l.grant_id, l.refund_of, l.draws, l.idempotency_key, l.actor,
         l.reason, l.metadata, l.created_at, l.member_id, l.pool_id, l.pool_entry_id, l.debt
  from credits_private.ledger_entries l
  where l.account_id = get_history.account_id
    and (before_id is null or (l.created_at, l.entry_id) < (v_before.created_at, v_before.entry_id))
  order by l.created_at desc, l.entry_id desc
  limit page_size;
end
$$;
