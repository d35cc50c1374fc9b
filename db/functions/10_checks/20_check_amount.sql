-- credits_private._check_amount(value, what, allow_zero): raises PT422
-- unless value is a finite amount above zero (or zero, when allowed) with at
-- most 6 decimal places and below 10^15. Never rounds: money is not guessed.
-- Messages show at most the first 60 digits of a long value (_shown).

create or replace function credits_private._check_amount(value numeric, what text,
                                                         allow_zero boolean default false)
returns numeric
language plpgsql
immutable
as $$
begin
  if value is null then
    raise exception '% is required', what
      using errcode = 'PT422', hint = format('Pass %s as a number above 0.', what);
  end if;
  if value = 'NaN'::numeric or value in ('Infinity'::numeric, '-Infinity'::numeric) then
    raise exception '% must be a finite number, got %', what, value
      using errcode = 'PT422', hint = format('Pass %s as a number above 0.', what);
  end if;
  if value < 0 or (value = 0 and not allow_zero) then
    raise exception '% must be above 0, got %', what, credits_private._shown(value::text)
      using errcode = 'PT422',
            hint = case when allow_zero then format('Pass %s as 0 or more.', what)
                        else format('Pass %s as a number above 0.', what) end;
  end if;
  if scale(value) > 6 then
    raise exception '% has more than 6 decimal places: %', what, credits_private._shown(value::text)
      using errcode = 'PT422', hint = 'Amounts are exact to 6 decimal places (one micro-credit).';
  end if;
  if value >= 1e15 then
    raise exception '% is too large: %', what, credits_private._shown(value::text)
      using errcode = 'PT422', hint = 'Amounts must be below 10^15.';
  end if;
  return round(value, 6);
end
$$;
