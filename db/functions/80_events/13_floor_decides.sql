-- credits_private._floor_decides(available_before, available, was_empty):
-- can the balance's overdraft limit change what a move emits? Only
-- depleted and recovered read it (credits_private._balance_event_kinds
-- adds it to both sides), and a limit is never negative, so it can only
-- for a move at or below zero on one side that goes down (depleted) or,
-- for a row that held a balance before, up (recovered). A move that stays
-- put, or a grant to a row just created, emits the same with any limit.
-- The balance triggers (single node and Citus) read the limit
-- (credits_private._overdraft, a query) only where it decides: the daily
-- job's first grant to a million new balance rows reads none. Inlined (a
-- RETURN body).
--
--   select credits_private._floor_decides(0, 5, true);   -- false: a first grant
--   select credits_private._floor_decides(2, -1, false); -- true: depleted, with what limit?

create or replace function credits_private._floor_decides(available_before numeric, available numeric,
                                                          was_empty boolean)
returns boolean
language sql
immutable
return least(available_before, available) <= 0
       and (available < available_before or (not was_empty and available > available_before));
