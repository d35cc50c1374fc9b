-- credits.usage_daily and credits.top_consumers: what was spent, from the
-- ledger. A debit counts as a call; refunds reduce the credits spent.

create or replace view credits.usage_daily with (security_barrier) as
  select (l.created_at at time zone 'UTC')::date as day,
         coalesce(l.feature, d.feature) as feature,
         l.credit_type,
         count(*) filter (where l.kind in ('debit', 'capture')) as calls,
         coalesce(sum(-l.amount) filter (where l.kind in ('debit', 'capture', 'refund')), 0) as credits
  from credits_private.ledger_entries l
  left join credits_private.ledger_entries d
    on l.kind = 'refund' and d.account_id = l.account_id and d.entry_id = l.refund_of
  where l.kind in ('debit', 'capture', 'refund')
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

comment on view credits.usage_daily is
  'Usage per UTC day, feature and credit type: calls (debits and captures) and credits spent net of refunds.';
comment on view credits.top_consumers is
  'Accounts ranked per credit type by credits spent (net of refunds) over the last 30 days.';
revoke all on credits.usage_daily, credits.top_consumers from public;
grant select on credits.usage_daily, credits.top_consumers
  to credits_service, credits_admin, credits_user, credits_auditor;
