-- credits_private._overdraft(account_id, credit_type, plan): how far below
-- zero a debit of the account may take this balance: its plan's overdraft
-- for the credit type (plans.overdraft, migration 0015), 0 when the plan
-- names none. plan: the plan to read (check_feature passes the plan the
-- account will be on once settled); null: the account's stored plan (a
-- writer, which has settled the account). A member of a pool has none: the
-- pool pays what its own grants cannot (docs/decisions.md, "Overdraft").
-- Read only off the hot path: by a debit its grants cannot pay, by
-- check_feature, and by the balance trigger when a balance is at or below
-- zero. Two statements, not a join: on Citus the plans are a reference
-- table (docs/scale-out.md).
--
--   select credits_private._overdraft('u_42', 'credits');
create or replace function credits_private._overdraft(account_id text, credit_type text, plan text default null)
returns numeric
language plpgsql
stable
as $$
declare
  v_plan text := plan;
begin
  if exists (select from credits_private.pool_members m where m.account_id = _overdraft.account_id) then
    return 0;
  end if;
  if v_plan is null then
    select a.plan into v_plan from credits_private.accounts a where a.account_id = _overdraft.account_id;
  end if;
  return coalesce((select (p.overdraft ->> _overdraft.credit_type)::numeric
                   from credits_private.plans p where p.code = v_plan), 0);
end
$$;
