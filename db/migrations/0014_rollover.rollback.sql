-- Undoes 0014. The function files of the version rolled back to create
-- upsert_plan with its old signature again; the new one, and the views
-- and functions that read plans.rollover, go here.
set local role credits_owner;
-- A rollover grant has no source the version rolled back to knows (and the
-- domain's CHECK is not checked against stored rows): refuse by name. The
-- owner reads every grant with the forced row security off for the count.
alter table credits_private.grants no force row level security;
do $$
declare
  v_count bigint := (select count(*) from credits_private.grants g where g.source = 'rollover');
begin
  if v_count > 0 then
    raise exception 'cannot roll back 0014_rollover: % rollover grants exist', v_count
      using hint = 'The version before it has no grant source rollover; void or migrate them first.';
  end if;
end
$$;
alter table credits_private.grants force row level security;
drop function if exists credits.upsert_plan(text, jsonb, jsonb, jsonb, boolean, text, boolean, jsonb);
drop function if exists credits_private._period_rollovers(credits_private.accounts, credits_private.accounts);
drop function if exists credits_private._rolled_over(jsonb, numeric);
drop index credits_private.grants_one_rollover_per_period;
alter table credits_private.plans drop column rollover cascade;
do $$
begin
  alter domain credits_private.grant_source drop constraint grant_source_check;
  alter domain credits_private.grant_source add constraint grant_source_check
    check (value in ('signup', 'daily', 'monthly', 'purchase', 'promo', 'admin', 'refund', 'migration'));
end
$$;
reset role;
