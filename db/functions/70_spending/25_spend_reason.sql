-- credits_private._spend_reason(reason, is_demo, cost, available,
-- account_id, credit_type, plan): why a spend would be refused, as a read
-- answers it before anything is locked: _prepare_spend's reason, else
-- insufficient_credits when what is available, down to the plan's overdraft
-- limit (credits_private._overdraft, read only when available falls short),
-- cannot pay a cost above 0; null when it could be spent. A demo account is
-- never short. The one home of that rule for _quote and check_feature's
-- settled read. Inlined; a text body, so that no migration's rollback of
-- _overdraft finds it depending on it.
--
--   select credits_private._spend_reason(null, false, 3, 1, 'u_42', 'credits', 'free');  -- insufficient_credits

create or replace function credits_private._spend_reason(reason text, is_demo boolean, cost numeric, available numeric,
                                                          account_id text, credit_type text, plan text)
returns text
language sql
stable
as $$
  select coalesce(reason,
                  case when not is_demo and available < cost and cost > 0
                            and available + credits_private._overdraft(account_id, credit_type, plan) < cost
                       then 'insufficient_credits' end)
$$;
