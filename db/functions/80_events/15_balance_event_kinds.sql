-- credits_private._balance_event_kinds(available_before, available,
-- held_before, held, used_before, used, granted_before, granted, was_empty):
-- the balance events (SPEC §1 event) of one balance row's move, in order:
--   balance_changed          what is available (balance less held) or held moved
--   threshold_crossed:80     the period's usage rose through 80 %, 90 % or 100 %
--   threshold_crossed:90     of the credits granted in the period (used_before
--   threshold_crossed:100    and granted_before are 0 when the move began a
--                            new period: it counts from zero)
--   depleted                 available fell from above zero to zero
--   recovered                available rose from zero (not a row that never
--                            held credits: was_empty)
-- Each is a transition between the row's state before and after, so each
-- crossing is seen once. The one rule of the balance trigger, for one row
-- and set-based. Inlined (a RETURN body).
-- Overdraft (migration 0015): the trigger passes available (before and
-- after) plus the balance's overdraft limit (credits_private._overdraft),
-- what may still be spent, so `depleted` is the limit reached (not zero
-- while an overdraft remains) and `recovered` a balance above its limit
-- again; the events' payload still says the available itself.
--
--   select credits_private._balance_event_kinds(5, 0, 0, 0, 1, 6, 6, 6, false);
--   -- {balance_changed,threshold_crossed:80,threshold_crossed:90,threshold_crossed:100,depleted}

create or replace function credits_private._balance_event_kinds(available_before numeric, available numeric,
                                                                held_before numeric, held numeric,
                                                                used_before numeric, used numeric,
                                                                granted_before numeric, granted numeric,
                                                                was_empty boolean)
returns text[]
language sql
immutable
return pg_catalog.array_remove(array[
  case when available <> available_before or held <> held_before then 'balance_changed' end,
  case when granted > 0 and used * 10 >= granted * 8
            and not (granted_before > 0 and used_before * 10 >= granted_before * 8) then 'threshold_crossed:80' end,
  case when granted > 0 and used * 10 >= granted * 9
            and not (granted_before > 0 and used_before * 10 >= granted_before * 9) then 'threshold_crossed:90' end,
  case when granted > 0 and used >= granted
            and not (granted_before > 0 and used_before >= granted_before) then 'threshold_crossed:100' end,
  case when available_before > 0 and available <= 0 then 'depleted' end,
  case when not was_empty and available_before <= 0 and available > 0 then 'recovered' end
]::pg_catalog.text[], null);
