-- credits_private._is_upgrade(from_plan, to_plan): whether moving from plan
-- `from_plan` to `to_plan` is an upgrade, which takes effect at once: another
-- plan that is unlimited (from a limited one), or whose monthly allowance is
-- at least the old one's in every credit type. Anything else (a lower
-- allowance in some credit type, or unlimited to limited) waits for the
-- period's end. Null for an unknown plan.

create or replace function credits_private._is_upgrade(from_plan text, to_plan text)
returns boolean
language sql
stable
as $$
  select from_plan <> to_plan
         and (n.unlimited
              or (not o.unlimited
                  and not exists (select
                                  from jsonb_each(o.monthly_allowance) e
                                  where coalesce((n.monthly_allowance ->> e.key)::numeric, 0) < e.value::numeric)))
  from credits_private.plans o, credits_private.plans n
  where o.code = from_plan and n.code = to_plan
$$;
