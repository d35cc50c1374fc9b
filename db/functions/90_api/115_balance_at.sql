-- credits.balance_at(account_id, at): one row per credit type with what was
-- available at the moment `at`, as get_balance would have reported it then,
-- read from the ledger: every change made by `at` (ledger rows with
-- created_at <= at, created_at being the start of the transaction that made
-- the change), less what grants that had ended by `at` (expired or voided)
-- still held then, even where their expiry row was written later or not at
-- all yet, less future-dated grants that had not started by `at` (their
-- grant row is written when granted), less what running holds earmarked then, plus a monthly or daily
-- allowance whose period or local day had begun by `at` but was issued only
-- later (or is still to be issued); a subscriber awaiting its provider's
-- renewal had none. balance_at(id, now) equals get_balance's available.
-- Changes nothing (STABLE): runs in read-only transactions and on replicas.
-- See docs/decisions.md, "balance_at and reset_credits".
-- Errors: PT422 `at` null or in the future; PT404 unknown account; 42501.
--
--   select * from credits.balance_at('u_42', '2026-03-31 23:59:59+00');

create or replace function credits.balance_at(account_id text, at timestamptz)
returns table (credit_type text, available numeric)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_account credits_private.accounts := credits_private._account_to_read(account_id);
  v_opened credits_private.periods;
  v_next credits_private.periods;
  -- The monthly allowance of a period begun by `at` but not opened by then,
  -- per credit type: none (the period running at `at` was open, or the
  -- account awaited its provider's renewal), next (the allowance the next
  -- opening issued), now (not opened yet: as get_balance reckons it,
  -- credits_private._pending_allowance).
  v_monthly text := 'none';
  -- The end of the local day containing `at`, which daily grants for that day end at.
  v_day_end timestamptz;
  -- What running holds earmarked at `at` on grants that had not ended, per credit type.
  v_held jsonb := '{}';
  -- Grants that had ended by `at` but were still earmarked by a running hold.
  v_earmarked bigint[] := '{}';
  -- The credit types, read apart from the account's rows (on Citus a
  -- statement of a delegated call may not join a reference table with them).
  v_types text[] := array(select t.code from credits_private.credit_types t order by t.code);
begin
  if balance_at.at is null then
    raise exception 'at is required'
      using errcode = 'PT422', hint = 'Pass the moment to read the balance at.';
  end if;
  if balance_at.at > v_now then
    raise exception 'at % is in the future (now is %)', balance_at.at, v_now
      using errcode = 'PT422', hint = 'Pass a moment up to now; credits.get_balance reads the balance now.';
  end if;

  -- Periods: the last one opened by `at`; when it had ended by then, the
  -- allowance the next opening by settlement issued (the period containing
  -- `at`, or the one an idle account skipped to) is what reads reported as
  -- pending; a subscriber awaiting its provider's renewal had none.
  select p.* into v_opened
  from credits_private.periods p
  where p.account_id = v_account.account_id and p.created_at <= balance_at.at
  order by p.period_start desc
  limit 1;
  if found and v_opened.period_end <= balance_at.at then
    select p.* into v_next
    from credits_private.periods p
    where p.account_id = v_account.account_id and p.created_at > balance_at.at
    order by p.created_at, credits_private._opened_by_provider(p.account_id, p.period_start, p.created_at),
             p.period_start
    limit 1;
    v_monthly := case when not found then 'now'
                      when credits_private._opened_by_provider(v_next.account_id, v_next.period_start,
                                                               v_next.created_at) then 'none'
                      else 'next' end;
  end if;
  v_day_end := credits_private._local_day_end(v_account.timezone, balance_at.at);

  -- Holds running at `at`: created by then, not ended (captured, released
  -- or swept) by then. A hold that had lapsed by `at` blocked nothing.
  select coalesce(jsonb_object_agg(x.credit_type, x.amount), '{}') into v_held
  from (select h.credit_type, sum((e.value ->> 'amount')::numeric) as amount
        from credits_private.holds h
        cross join jsonb_array_elements(h.earmarks) e
        join credits_private.grants g
          on g.account_id = h.account_id and g.grant_id = (e.value ->> 'grant_id')::bigint
        where h.account_id = v_account.account_id
          and h.created_at <= balance_at.at
          and (h.ended_at is null or h.ended_at > balance_at.at)
          and h.expires_at > balance_at.at
          and coalesce(g.expires_at > balance_at.at, true)
          and coalesce(g.voided_at > balance_at.at, true)
        group by h.credit_type) x;
  select coalesce(array_agg(distinct (e.value ->> 'grant_id')::bigint), '{}') into v_earmarked
  from credits_private.holds h
  cross join jsonb_array_elements(h.earmarks) e
  where h.account_id = v_account.account_id
    and h.created_at <= balance_at.at
    and (h.ended_at is null or h.ended_at > balance_at.at);

  return query
  with owned as (
    -- The ledger's balance at `at`: every change made by then.
    select l.credit_type, sum(l.amount) as amount
    from credits_private.ledger_entries l
    where l.account_id = v_account.account_id and l.created_at <= balance_at.at
    group by l.credit_type
  ), ended as (
    -- Grants that had ended by `at` and may still have held something then:
    -- not written off (expiry or void row) by `at`, or earmarked by a hold;
    -- and future-dated grants that had not started by `at`.
    select g.grant_id, g.credit_type, g.created_at
    from credits_private.grants g
    where g.account_id = v_account.account_id
      and g.created_at <= balance_at.at
      and ((g.expires_at <= balance_at.at or g.voided_at <= balance_at.at)
           and (coalesce(g.expired_at, g.voided_at) is null or coalesce(g.expired_at, g.voided_at) > balance_at.at
                or g.grant_id = any (v_earmarked))
           or g.starts_at > balance_at.at)
  ), ended_left as (
    -- What each of them held at `at`: the sum of the ledger's changes to it
    -- by then (its grant row, the draws of debits, captures and refunds,
    -- its expiry or void rows).
    select x.credit_type, sum(x.amount) as amount
    from (select n.credit_type, a.amount
          from credits_private.ledger_entries l
          cross join lateral (
            select (d.value ->> 'grant_id')::bigint as grant_id, sign(l.amount) * (d.value ->> 'amount')::numeric
            from jsonb_array_elements(l.draws) d
            where l.draws is not null
            union all
            select l.grant_id, l.amount
            where l.draws is null
          ) a (grant_id, amount)
          join ended n on n.grant_id = a.grant_id
          where l.account_id = v_account.account_id
            and l.created_at <= balance_at.at
            and l.created_at >= (select min(n2.created_at) from ended n2)) x
    group by x.credit_type
  )
  select t.code,
         round(coalesce(o.amount, 0) - coalesce(e.amount, 0) - coalesce((v_held ->> t.code)::numeric, 0)
               + monthly.amount + daily.amount, 6)
  from unnest(v_types) t (code)
  left join owned o on o.credit_type = t.code
  left join ended_left e on e.credit_type = t.code
  -- The monthly allowance pending at `at`: what the grant row of the next
  -- opening said (a grant's amount may grow later, its ledger row does
  -- not; a reset hands the grant's period_start on and keeps it in its
  -- metadata).
  cross join lateral (
    select case v_monthly
             when 'now' then credits_private._pending_allowance(v_account, t.code, balance_at.at)
             when 'next' then coalesce((select l.amount
                                        from credits_private.grants g
                                        join credits_private.ledger_entries l
                                          on l.account_id = g.account_id and l.grant_id = g.grant_id
                                         and l.kind = 'grant'
                                        where g.account_id = v_account.account_id
                                          and g.credit_type = t.code
                                          and g.source = 'monthly'
                                          and g.created_at = v_next.created_at
                                          and v_next.period_start in (
                                                g.period_start,
                                                (g.metadata -> 'reset' ->> 'period_start')::timestamptz)
                                        order by g.grant_id
                                        limit 1), 0)
             else 0 end as amount
  ) monthly
  -- The daily grant pending at `at`: none when the day's grant was issued
  -- by then; else what the day's grant said when it was issued later, or
  -- (a day without one) the next daily grant; else as get_balance reckons
  -- it now (credits_private._pending_daily).
  cross join lateral (
    select case when balance_at.at < v_account.created_at then 0
                else coalesce(
                  (select case when d.created_at <= balance_at.at then 0 else l.amount end
                   from credits_private.grants d
                   join credits_private.ledger_entries l
                     on l.account_id = d.account_id and l.grant_id = d.grant_id and l.kind = 'grant'
                   where d.account_id = v_account.account_id
                     and d.credit_type = t.code
                     and d.source = 'daily'
                     and d.expires_at = v_day_end
                   order by d.created_at, d.grant_id
                   limit 1),
                  (select l.amount
                   from credits_private.grants d
                   join credits_private.ledger_entries l
                     on l.account_id = d.account_id and l.grant_id = d.grant_id and l.kind = 'grant'
                   where d.account_id = v_account.account_id
                     and d.credit_type = t.code
                     and d.source = 'daily'
                     and d.created_at > balance_at.at
                   order by d.created_at, d.grant_id
                   limit 1),
                  credits_private._pending_daily(v_account, t.code, balance_at.at)) end as amount
  ) daily
  order by t.code;
end
$$;

comment on function credits.balance_at(text, timestamptz) is
  'Available credits per credit type at a past moment, from the ledger, as get_balance would have reported them then; read-only.';
revoke all on function credits.balance_at(text, timestamptz) from public;
grant execute on function credits.balance_at(text, timestamptz)
  to credits_service, credits_user, credits_auditor;
