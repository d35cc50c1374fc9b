-- credits_private._quiet_move(available_before, available, used, granted):
-- can a balance row's move have crossed nothing, so that it is at most a
-- balance_changed? True when available is above zero before and after
-- (depleted and recovered each need it at or below zero on one side; an
-- overdraft limit is never negative) and the period's usage is below 80 %
-- of its grants (every threshold needs at least 80 %). Two necessary
-- conditions of credits_private._balance_event_kinds, which stays the one
-- rule: the balance triggers (single node and Citus) return early on a
-- quiet move of an account nobody watches, before they evaluate it.
-- Its arguments in _balance_event_kinds' order. Inlined (a RETURN body).
--
--   select credits_private._quiet_move(5, 4, 5, 10);  -- true: 50 % used
--   select credits_private._quiet_move(5, 4, 8, 10);  -- false: 80 % used

create or replace function credits_private._quiet_move(available_before numeric, available numeric,
                                                       used numeric, granted numeric)
returns boolean
language sql
immutable
return least(available_before, available) > 0 and not (granted > 0 and used * 10 >= granted * 8);
