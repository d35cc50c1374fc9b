-- credits_private._check_price(price, currency): raises PT422 unless price
-- and currency come together (both null: no cost basis), price is an amount
-- of 0 or more (_check_amount) and currency an ISO 4217 code (three capital
-- letters). Returns the price.
--
--   perform credits_private._check_price(9.99, 'EUR');

create or replace function credits_private._check_price(price numeric, currency text)
returns numeric
language plpgsql
immutable
as $$
begin
  if (price is null) <> (currency is null) then
    raise exception 'price % and currency % go together', coalesce(price::text, 'null'),
                    coalesce(credits_private._shown(currency), 'null')
      using errcode = 'PT422', hint = 'Pass both (9.99 and EUR), or neither when the cost is unknown.';
  end if;
  if currency !~ '^[A-Z]{3}$' then
    raise exception 'invalid currency %', credits_private._shown(currency)
      using errcode = 'PT422', hint = 'Pass an ISO 4217 code such as EUR or USD.';
  end if;
  if price is not null then
    perform credits_private._check_amount(price, 'price', allow_zero => true);
  end if;
  return price;
end
$$;
