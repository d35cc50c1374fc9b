-- credits_private._current_period(account, at): the period that contains
-- `at`: the stored one while it runs, else the one settling leaves
-- (credits_private._as_settled).

create or replace function credits_private._current_period(account credits_private.accounts, at timestamptz,
                                                           out period_start timestamptz,
                                                           out period_end timestamptz)
language plpgsql
stable
as $$
begin
  if account.period_end > at then
    period_start := account.period_start;
    period_end := account.period_end;
  else
    select s.period_start, s.period_end into period_start, period_end
    from credits_private._as_settled(account, at) s;
  end if;
end
$$;
