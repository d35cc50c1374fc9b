-- credits_private._count_use(account_id, period_start, feature,
-- period_limit): counts one use of a feature with a period limit, for
-- deduct_credits and reserve_credits under the balance lock; false,
-- counting nothing, when the limit is reached. The counter row's lock
-- serializes concurrent uses.

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
