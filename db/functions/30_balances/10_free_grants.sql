-- credits_private._free_grants(account_id, credit_type, at): what a debit
-- could draw, as the account stands once settled: every grant that has not
-- ended by `at` (whether or not its expiry has been written yet), with what
-- is free in it: its remainder less what live holds earmark. A hold that
-- lapsed by `at` blocks nothing, even before it is settled (the add-back
-- below; its twin is _settle, which ends such holds). A grant counts from
-- its commit, not from its starts_at: a purchase committed while a debit's
-- transaction was open pays for that debit, as the balance row already says.
-- A future-dated grant (not_before, migration 0013) holds its whole
-- remainder until it starts: free once `at` reaches not_before, even
-- before _settle releases it (its twin there).
--
--   select * from credits_private._free_grants('u_42', 'credits', credits.now());

create or replace function credits_private._free_grants(account_id text, credit_type text, at timestamptz)
returns table (grant_id bigint, source text, free numeric, priority integer, expires_at timestamptz,
               starts_at timestamptz)
language sql
stable
as $$
  select g.grant_id, g.source, g.remaining - (case when g.not_before <= at then 0 else g.held end) + coalesce(l.amount, 0),
         g.priority, g.expires_at, g.starts_at
  from credits_private.grants g
  -- What lapsed holds still earmark on each grant, summed once: on a
  -- settled balance (every debit's) _lapsed_holds is empty and this is one
  -- probe of an almost empty index.
  left join (select (e.value ->> 'grant_id')::bigint as grant_id, sum((e.value ->> 'amount')::numeric) as amount
             from credits_private._lapsed_holds(_free_grants.account_id, _free_grants.credit_type,
                                                _free_grants.at) h
             cross join lateral jsonb_array_elements(h.earmarks) e
             group by 1) l on l.grant_id = g.grant_id
  where g.account_id = _free_grants.account_id
    and g.credit_type = _free_grants.credit_type
    and g.is_open
    and (g.expires_at is null or g.expires_at > at)
    and g.remaining - (case when g.not_before <= at then 0 else g.held end) + coalesce(l.amount, 0) > 0
$$;
