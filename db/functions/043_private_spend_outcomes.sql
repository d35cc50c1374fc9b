-- What deduct_credits and reserve_credits share once the balance is locked.
--
-- credits_private._count_use(account_id, period_start, feature, period_limit):
-- counts one use of a feature with a period limit; false, counting nothing,
-- when the limit is reached. The counter row's lock serializes concurrent uses.
--
-- credits_private._refuse(account_id, feature, credit_type, reason, cost,
-- available, counted_period, at, details): a refusal gives back the use it
-- counted (counted_period not null) and is recorded as a feature_gated event.

create or replace function credits_private._count_use(account_id text, period_start timestamptz, feature text,
                                                      period_limit integer)
returns boolean
language plpgsql
as $$
declare
  v_counted boolean;
begin
  if period_limit <= 0 then
    return false;
  end if;
  insert into credits_private.period_usage as u (account_id, period_start, feature, used_count)
  values (account_id, period_start, feature, 1)
  on conflict on constraint period_usage_pkey
  do update set used_count = u.used_count + 1 where u.used_count < period_limit
  returning true into v_counted;
  return coalesce(v_counted, false);
end
$$;

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
