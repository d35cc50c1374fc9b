-- credits_private._available(account_id, credit_type, at): what a debit
-- could draw at `at`: the unheld remainder of every grant that has not
-- ended, whether or not expiry has been settled yet. A grant counts from
-- its commit, not from its starts_at: a purchase committed while a debit's
-- transaction was open (its `at` earlier than the grant's starts_at) pays
-- for that debit, as the balance row already says.

create or replace function credits_private._available(account_id text, credit_type text, at timestamptz)
returns numeric
language sql
stable
as $$
  select coalesce(sum(g.remaining - g.held), 0.000000)
  from credits_private.grants g
  where g.account_id = _available.account_id
    and g.credit_type = _available.credit_type
    and g.is_open
    and (g.expires_at is null or g.expires_at > at)
$$;
