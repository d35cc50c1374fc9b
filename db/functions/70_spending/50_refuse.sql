-- credits_private._refuse(account_id, feature, credit_type, reason, cost,
-- available, counted_period, at, details): a refusal of deduct_credits or
-- reserve_credits gives back the use it counted (counted_period not null)
-- and is recorded as a feature_gated event.

create or replace function credits_private._refuse(account_id text, feature text, credit_type text, reason text,
                                                   cost numeric, available numeric, counted_period timestamptz,
                                                   at timestamptz, details jsonb default '{}')
returns void
language plpgsql
as $$
begin
  if counted_period is not null then
    update credits_private.period_usage u
    set used_count = u.used_count - 1
    where u.account_id = _refuse.account_id and u.period_start = counted_period and u.feature = _refuse.feature;
  end if;
  perform credits_private._emit_event(account_id, 'feature_gated', credit_type,
    jsonb_build_object('feature', feature, 'reason', reason, 'cost', cost, 'available', available) || details,
    at);
end
$$;
