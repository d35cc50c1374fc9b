-- credits.get_history(account_id, page_size, before_id): the account's
-- ledger rows, newest first, page_size at a time; pass the last row's
-- transaction_id as before_id for the next page (keyset paging: every page
-- costs the same however long the ledger). Read-only. A page is at most
-- 1,000 rows, and at most 100 for a credits_user: a row may carry 32 kB of
-- metadata and units, so a user's page stays within a few megabytes.
-- Errors: PT404, 42501, PT422 for a page size outside 1..1000 (1..100).
--
--   select transaction_id, kind, amount, balance_after from credits.get_history('u_42', 20);

create or replace function credits.get_history(account_id text, page_size integer default 50,
                                               before_id bigint default null)
returns setof credits.ledger
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
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
  -- From the table, not the view credits.ledger (same columns, same row
  -- security), walking (account_id, entry_id) backwards; the bound is one
  -- comparison, so it is an index condition (docs/decisions.md, "SQL
  -- and the planner").
  return query
  select l.entry_id, l.account_id, l.credit_type, l.kind, l.amount, l.balance_before, l.balance_after,
         l.available_after, l.feature, l.units, l.grant_id, l.refund_of, l.draws, l.idempotency_key, l.actor,
         l.reason, l.metadata, l.created_at, l.member_id, l.pool_id, l.pool_entry_id, l.debt
  from credits_private.ledger_entries l
  where l.account_id = get_history.account_id
    and l.entry_id < coalesce(before_id, 9223372036854775807)
  order by l.entry_id desc
  limit page_size;
end
$$;

comment on function credits.get_history(text, integer, bigint) is
  'The account''s ledger rows, newest first, keyset-paged with before_id; read-only.';
revoke all on function credits.get_history(text, integer, bigint) from public;
grant execute on function credits.get_history(text, integer, bigint)
  to credits_service, credits_user, credits_auditor;
