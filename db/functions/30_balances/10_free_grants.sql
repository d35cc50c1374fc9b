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
  select g.grant_id, g.source, g.free, g.priority, g.expires_at, g.starts_at
  from (select g.grant_id, g.source, g.priority, g.expires_at, g.starts_at,
               g.remaining - (case when g.not_before <= at then 0 else g.held end)
               -- What lapsed holds still earmark on the grant: only a grant
               -- something holds can have any, so the holds are read (once
               -- per statement, _lapsed_earmarks) only when one does.
               + case when g.held > 0
                      then coalesce(((select credits_private._lapsed_earmarks(_free_grants.account_id,
                                                                              _free_grants.credit_type,
                                                                              _free_grants.at))
                                     ->> g.grant_id::text)::numeric, 0)
                      else 0 end as free
        from credits_private.grants g
        where g.account_id = _free_grants.account_id
          and g.credit_type = _free_grants.credit_type
          and g.is_open
          and (g.expires_at is null or g.expires_at > at)
        offset 0) g
  where g.free > 0
$$;
