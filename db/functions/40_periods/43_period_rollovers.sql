-- credits_private._period_rollovers(account, settled): what the renewal
-- from the account's stored period to the period settling leaves
-- (`settled`, credits_private._as_settled) rolls over, per credit type:
-- credits_private._rolled_over of the rule of the ending period's plan
-- (plans.rollover) on what was unused of the ending period's monthly
-- allowance. Only the monthly allowance rolls: purchased, daily, signup
-- and earlier rollover grants never do. Unused: what is left of the
-- period's monthly grants less what holds earmark on them (counted as
-- used), plus what their expiry already wrote off (expire_grants may have
-- run first: the ledger's `expiry` rows of the grant). Periods nobody
-- touched in between (missed renewals): the last of them, on the settled
-- plan, had its whole allowance unused, and what earlier renewals rolled
-- has ended with them, so that allowance is what rolls. Nothing when no
-- period opens, or for a suspended or closed account. The one rule behind
-- the write (_roll_period) and the read (_pending_allowance).
--
--   select * from credits_private._period_rollovers(a, credits_private._as_settled(a, credits.now()))
--   from credits_private.accounts a where a.account_id = 'u_42';

create or replace function credits_private._period_rollovers(account credits_private.accounts,
                                                             settled credits_private.accounts)
returns table (credit_type text, amount numeric, unused numeric, plan text)
-- PL/pgSQL, one table a statement, each read by the account's id as a
-- value: Citus routes every read to the account's shard (db/citus). A plan
-- without rules costs one read of the plan.
language plpgsql
stable
as $$
declare
  v_account_id text := account.account_id;
  v_is_stored boolean := settled.period_start = account.period_end;
  v_rules jsonb;
  v_type text;
  v_left numeric;
  v_grants bigint[];
begin
  if settled.period_start = account.period_start or settled.status <> 'active' then
    return;
  end if;
  plan := case when v_is_stored then account.plan else settled.plan end;
  select p.rollover into v_rules from credits_private.plans p where p.code = _period_rollovers.plan;
  for v_type in select k from jsonb_object_keys(coalesce(v_rules, '{}')) k order by 1 loop
    if v_is_stored then
      select coalesce(sum(g.remaining - g.held), 0), array_agg(g.grant_id) into v_left, v_grants
      from credits_private.grants g
      where g.account_id = v_account_id and g.credit_type = v_type and g.source = 'monthly'
        and g.period_start = account.period_start and g.voided_at is null;
      select v_left - coalesce(sum(l.amount), 0) into unused
      from credits_private.ledger_entries l
      where l.account_id = v_account_id and l.kind = 'expiry' and l.grant_id = any(v_grants);
    else
      select a.amount into unused
      from credits_private._period_allowances(_period_rollovers.plan, settled.status) a
      where a.credit_type = v_type;
    end if;
    credit_type := v_type;
    amount := credits_private._rolled_over(v_rules -> v_type, unused);
    if amount > 0 then
      return next;
    end if;
  end loop;
end
$$;
