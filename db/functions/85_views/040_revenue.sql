-- credits.revenue and credits.breakage: what purchased credits were worth
-- (purchase_credits(price, currency), the cost basis) as they were spent
-- and as they expired unspent. credits_private.paid_grant_moves is the one
-- rule behind both: every move of a priced grant's credits, in ledger
-- order: a debit's or capture's draw spends them, a refund of it gives them
-- back (to the same grant, or to a new refund grant that then carries no
-- price: it names the paid one as of_grant_id), an expiry or a void writes
-- them off, and a purchase that repaid a debt (overdraft, migration 0015:
-- its `grant` row's debt) spent what it repaid, then (feature null). What a move is worth is exact, in the purchase's currency:
-- value(credits moved up to and with it) - value(up to before it), with
-- value(c) = price * c / amount rounded to the price's scale (at least
-- cents). So a grant's moves add up to its price exactly once all of its
-- credits have moved, a refund reverses the revenue its debit recognized,
-- and no sum ever drifts by a rounding. revenue sums the spending moves by
-- UTC day, feature (a refund's is its debit's), credit type and currency;
-- breakage the expiries (a void is taken back, not broken). A user sees
-- what its own ledger rows make (row-level security of the ledger and the
-- grants). Built-ins are qualified (STYLE 18).

create or replace view credits_private.paid_grant_moves with (security_barrier) as
  select m.account_id, m.grant_id, m.entry_id, m.created_at, m.kind, m.feature, m.credit_type, m.currency,
         m.credits,
         pg_catalog.round(m.price OPERATOR(pg_catalog.*) m.moved OPERATOR(pg_catalog./) m.amount, m.money_scale)
           OPERATOR(pg_catalog.-)
         pg_catalog.round(m.price OPERATOR(pg_catalog.*) (m.moved OPERATOR(pg_catalog.-) m.credits)
                          OPERATOR(pg_catalog./) m.amount, m.money_scale) as money
  from (select x.*, g.price, g.currency, g.amount,
               greatest(pg_catalog.scale(g.price), 2) as money_scale,
               pg_catalog.sum(x.credits) over (partition by x.account_id, x.grant_id order by x.entry_id) as moved
        from (select l.account_id,
                     cast(coalesce(d.value OPERATOR(pg_catalog.->>) 'of_grant_id',
                                   d.value OPERATOR(pg_catalog.->>) 'grant_id') as pg_catalog.int8) as grant_id,
                     l.entry_id, l.created_at, l.kind, l.feature, l.credit_type,
                     case when l.kind OPERATOR(pg_catalog.=) 'refund'
                          then OPERATOR(pg_catalog.-) cast(d.value OPERATOR(pg_catalog.->>) 'amount' as pg_catalog.numeric)
                          else cast(d.value OPERATOR(pg_catalog.->>) 'amount' as pg_catalog.numeric) end as credits
              from credits_private.ledger_entries l
              cross join lateral pg_catalog.jsonb_array_elements(l.draws) d
              where l.kind OPERATOR(pg_catalog.=) any (array['debit', 'capture', 'refund']::pg_catalog.text[])
              union all
              select l.account_id, l.grant_id, l.entry_id, l.created_at, l.kind, null, l.credit_type,
                     OPERATOR(pg_catalog.-) case when l.kind OPERATOR(pg_catalog.=) 'grant' then l.debt else l.amount end
              from credits_private.ledger_entries l
              where l.kind OPERATOR(pg_catalog.=) any (array['expiry', 'void']::pg_catalog.text[])
                 or (l.kind OPERATOR(pg_catalog.=) 'grant' and l.debt OPERATOR(pg_catalog.<) 0)) x
        join credits_private.grants g
          on g.account_id OPERATOR(pg_catalog.=) x.account_id and g.grant_id OPERATOR(pg_catalog.=) x.grant_id
        where g.price is not null) m;

create or replace view credits.revenue with (security_barrier) as
  select cast(pg_catalog.timezone('UTC', m.created_at) as pg_catalog.date) as day, m.feature, m.credit_type,
         m.currency, pg_catalog.sum(m.credits) as credits, pg_catalog.sum(m.money) as revenue
  from credits_private.paid_grant_moves m
  where m.kind OPERATOR(pg_catalog.=) any (array['debit', 'capture', 'refund', 'grant']::pg_catalog.text[])
  group by 1, 2, 3, 4;

create or replace view credits.breakage with (security_barrier) as
  select cast(pg_catalog.timezone('UTC', m.created_at) as pg_catalog.date) as day, m.credit_type, m.currency,
         pg_catalog.sum(m.credits) as credits, pg_catalog.sum(m.money) as breakage
  from credits_private.paid_grant_moves m
  where m.kind OPERATOR(pg_catalog.=) 'expiry'
  group by 1, 2, 3;

comment on view credits_private.paid_grant_moves is
  'Every move of a priced (purchased) grant''s credits in ledger order, and what it was worth: the one rule of credits.revenue and credits.breakage.';
comment on view credits.revenue is
  'Revenue recognized as purchased credits are spent (net of refunds; feature null: an overdraft a purchase repaid), per UTC day, feature, credit type and currency, exact in the purchase''s currency.';
comment on view credits.breakage is
  'Purchased credits that expired unspent and what they were worth, per UTC day, credit type and currency.';
revoke all on credits.revenue, credits.breakage from public;
grant select on credits.revenue, credits.breakage to credits_service, credits_admin, credits_user, credits_auditor;
