-- credits.account_usage_daily, credits.usage_daily and credits.top_consumers:
-- what was spent, from the ledger. A debit or a capture counts as a call;
-- refunds reduce the credits spent (on the day of the refund, under the
-- refunded debit's feature). account_usage_daily is the one place of that
-- rule: usage_daily sums it over accounts. Per account, a credits_user sees
-- only its own rows (the ledger's row-level security). Built-ins are
-- qualified (STYLE 18).

create or replace view credits.account_usage_daily with (security_barrier) as
  select l.account_id,
         cast(pg_catalog.timezone('UTC', l.created_at) as pg_catalog.date) as day,
         coalesce(l.feature, d.feature) as feature,
         l.credit_type,
         pg_catalog.count(*) filter (where l.kind OPERATOR(pg_catalog.<>) 'refund') as calls,
         coalesce(pg_catalog.sum(OPERATOR(pg_catalog.-) l.amount), 0) as credits
  from credits_private.ledger_entries l
  left join credits_private.ledger_entries d
    on l.kind OPERATOR(pg_catalog.=) 'refund'
   and d.account_id OPERATOR(pg_catalog.=) l.account_id
   and d.entry_id OPERATOR(pg_catalog.=) l.refund_of
  where l.kind OPERATOR(pg_catalog.=) any (array['debit', 'capture', 'refund']::pg_catalog.text[])
  group by 1, 2, 3, 4;

create or replace view credits.usage_daily with (security_barrier) as
  select u.day, u.feature, u.credit_type,
         cast(pg_catalog.sum(u.calls) as pg_catalog.int8) as calls,
         pg_catalog.sum(u.credits) as credits
  from credits.account_usage_daily u
  group by 1, 2, 3;

create or replace view credits.top_consumers with (security_barrier) as
  select l.account_id, l.credit_type,
         sum(-l.amount) as credits_used,
         count(*) filter (where l.kind in ('debit', 'capture')) as calls,
         rank() over (partition by l.credit_type order by sum(-l.amount) desc) as rank
  from credits_private.ledger_entries l
  where l.kind in ('debit', 'capture', 'refund')
    and l.created_at >= credits.now() - interval '30 days'
  group by l.account_id, l.credit_type;

comment on view credits.account_usage_daily is
  'Usage per account, UTC day, feature and credit type (calls and credits spent net of refunds); a user sees its own rows.';
comment on view credits.usage_daily is
  'Usage per UTC day, feature and credit type: calls (debits and captures) and credits spent net of refunds.';
comment on view credits.top_consumers is
  'Accounts ranked per credit type by credits spent (net of refunds) over the last 30 days.';
revoke all on credits.account_usage_daily, credits.usage_daily, credits.top_consumers from public;
grant select on credits.account_usage_daily, credits.usage_daily, credits.top_consumers
  to credits_service, credits_admin, credits_user, credits_auditor;
