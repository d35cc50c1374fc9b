-- credits_private._default_priority(source): a grant's burn-down priority
-- when none is given (SPEC §1, burn-down order): 200 for purchased credits,
-- 100 for every kind of given credit, so what was paid for lasts longest.
-- Inlined (a RETURN body).
--
--   select credits_private._default_priority('purchase');  -- 200

create or replace function credits_private._default_priority(source text)
returns integer
language sql
immutable
return case when source = 'purchase' then 200 else 100 end;
