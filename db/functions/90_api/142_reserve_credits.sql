-- credits.reserve_credits(account_id, feature, units, idempotency_key, ttl,
-- amount): reserves the cost of work that may fail. The held credits are
-- not available to anyone else until the hold is captured, released, or
-- lapses at expires_at (after which it blocks nothing, even before
-- expire_holds runs). Refusals as deduct_credits (ok = false, a
-- feature_gated event, nothing stored under the key). A feature with a
-- period limit counts the use now and gets it back if the hold is released
-- or lapses. Unlimited plans hold 0; demo accounts hold nothing and get no
-- hold_id. With idempotency_key a retry returns the first hold.
--
-- A hold never outlives what it earmarks (SPEC §1 hold): expires_at is
-- now + ttl, but at most 15 minutes past the earliest end of the given
-- (non-purchased) grants it earmarks, so no hold carries this period's
-- allowance or an ending promo into the next. A credits_user may ask for a
-- ttl of at most the database setting credits.user_max_hold_ttl (1 hour
-- when unset), and may not pass amount (_prepare_spend). The hold records
-- the kind of caller that made it: a user may end only its own (_hold).
-- Errors: PT404, PT422 (units, amount, ttl not above 0, above 30 days, or
-- above a user's limit), PT409, 42501.
--
-- A member of a pool whose own grants fall short holds the rest of its
-- pool's (docs/contract.md, Teams): the hold's row holds its own part and
-- names the pool's share (a hold row of the pool naming the member), which
-- lapses with it and counts against its cap while it lives; held is the
-- whole cost.
--
--   select * from credits.reserve_credits('u_42', 'video_render', '{"seconds": 60}', ttl => '10 minutes');

create or replace function credits.reserve_credits(account_id text, feature text, units jsonb default '{}',
                                                   idempotency_key text default null,
                                                   ttl interval default '15 minutes', amount numeric default null)
returns table (ok boolean, reason text, hold_id bigint, held numeric, expires_at timestamptz)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_account credits_private.accounts := credits_private._settle_account(account_id, v_now);
  v_quote record := credits_private._prepare_spend(v_account, feature, units, amount, v_now);
  v_hash uuid;
  v_first credits_private.holds;
  v_balance credits_private.balances;
  v_counted boolean;
  v_refusal text := v_quote.reason;
  v_earmark record;
  v_maker text := credits_private._caller_role();
  v_user_limit interval;
  -- What the account's own grants hold: the cost, or what they have when
  -- its pool holds the rest.
  v_own numeric := v_quote.cost;
  v_pool_id text;
  v_pool_hold_id bigint;
  v_limited_by text;
  -- The balance row moved by the hot path's conditional UPDATE (its lock),
  -- and the settle_at it left.
  v_moved boolean := false;
  v_settle_at timestamptz;
begin
  if ttl is null or ttl <= interval '0' or ttl > interval '30 days' then
    raise exception 'ttl must be above 0 and at most 30 days, got %', ttl
      using errcode = 'PT422', hint = 'Pass how long the work may take, such as 15 minutes.';
  end if;
  if v_maker = 'credits_user' then
    v_user_limit := coalesce(credits_private._database_setting('credits.user_max_hold_ttl'), '1 hour')::interval;
    if ttl > v_user_limit then
      raise exception 'ttl must be at most % for a credits_user, got %', v_user_limit, ttl
        using errcode = 'PT422',
              hint = 'Ask for less, or let the backend reserve (the database setting credits.user_max_hold_ttl).';
    end if;
  end if;
  expires_at := v_now + ttl;
  if v_quote.is_demo then
    return query select v_refusal is null, v_refusal, null::bigint, 0.000000, expires_at;
    return;
  end if;

  -- Hot path, as deduct_credits': one conditional UPDATE takes the row
  -- lock, checks what is free on a settled balance and holds the cost.
  -- settle_at need not wait for the earmarks: expires_at is clamped to 15
  -- minutes past a given grant's end, which is not before settle_at. A
  -- key, a period limit, a refusal, or not enough (a pool member, a
  -- balance to settle) take the lock first and hold below.
  if idempotency_key is null and v_refusal is null and v_quote.period_limit is null then
    update credits_private.balances b
    set held = b.held + v_own, settle_at = least(b.settle_at, reserve_credits.expires_at), updated_at = v_now
    where b.account_id = reserve_credits.account_id
      and b.credit_type = v_quote.credit_type
      and b.balance - b.held >= v_own
      and (b.settle_at is null or b.settle_at > v_now)
    returning b.settle_at into v_settle_at;
    v_moved := found;
  end if;
  if not v_moved then
    v_balance := credits_private._lock_balance(account_id, v_quote.credit_type, v_now);
  end if;
  if idempotency_key is not null then
    perform credits_private._check_key(idempotency_key, 'idempotency_key');
    v_hash := credits_private._request_hash(jsonb_build_array(
      'reserve_credits', feature, coalesce(units, '{}'), extract(epoch from ttl), amount));
    select h.* into v_first
    from credits_private.holds h
    where h.account_id = reserve_credits.account_id and h.idempotency_key = reserve_credits.idempotency_key;
    if found then
      if v_first.request_hash is distinct from v_hash then
        perform credits_private._raise_key_reused(account_id, idempotency_key,
                                                  format('first used by hold %s', v_first.hold_id));
      end if;
      return query select true, null::text, v_first.hold_id,
                          v_first.amount + coalesce((select p.amount from credits_private.holds p
                                                     where p.account_id = v_first.pool_id
                                                       and p.hold_id = v_first.pool_hold_id), 0),
                          v_first.expires_at;
      return;
    end if;
    -- One key namespace per account: a key the ledger holds is a conflict.
    perform credits_private._idempotent_replay(account_id, idempotency_key, v_hash);
  end if;

  if v_refusal is null and v_quote.period_limit is not null then
    v_counted := credits_private._count_use(account_id, v_quote.period_start, feature, v_quote.period_limit);
    if not v_counted then
      v_refusal := 'period_limit_reached';
    end if;
  end if;
  if v_refusal is null and not v_moved and v_balance.balance - v_balance.held < v_quote.cost then
    -- Not enough of its own: a member of a pool holds the rest of the
    -- pool's credits (credits_private._pool_hold), under this lock
    -- (member, then pool); its own grants hold what they have. A hold
    -- never draws into an overdraft (a balance in debt holds nothing of
    -- its own; docs/decisions.md, "Overdraft").
    v_own := greatest(v_balance.balance - v_balance.held, 0);
    select p.pool_id, p.hold_id, p.limited_by, p.expires_at into v_pool_id, v_pool_hold_id, v_limited_by, expires_at
    from credits_private._pool_hold(account_id, v_quote.credit_type, v_quote.cost - v_own, v_now, feature,
                                    coalesce(units, '{}'), expires_at, coalesce(v_maker, 'credits_service')) p;
    if v_pool_hold_id is null then
      v_refusal := 'insufficient_credits';
    end if;
  end if;

  if v_refusal is not null then
    perform credits_private._refuse(account_id, feature, v_quote.credit_type, v_refusal, v_quote.cost,
                                    v_balance.balance - v_balance.held,
                                    case when v_counted then v_quote.period_start end, v_now,
                                    jsonb_build_object('hold', true)
                                      || case when v_pool_id is not null
                                              then jsonb_build_object('pool_id', v_pool_id, 'limited_by', v_limited_by)
                                              else '{}' end);
    return query select false, v_refusal, null::bigint, 0.000000, null::timestamptz;
    return;
  end if;

  -- Earmark the grants a debit would draw from now.
  v_earmark := credits_private._earmark(account_id, v_quote.credit_type, v_own, v_now);
  expires_at := least(expires_at, v_earmark.given_end + interval '15 minutes');
  if v_pool_hold_id is not null then
    -- The pool's share lapses with the member's hold.
    update credits_private.holds h
    set expires_at = reserve_credits.expires_at
    where h.account_id = v_pool_id and h.hold_id = v_pool_hold_id and h.expires_at > reserve_credits.expires_at;
    if found then
      update credits_private.balances b
      set settle_at = least(b.settle_at, reserve_credits.expires_at)
      where b.account_id = v_pool_id and b.credit_type = v_quote.credit_type;
    end if;
  end if;

  if not v_moved or expires_at < v_settle_at then
    update credits_private.balances b
    set held = b.held + case when v_moved then 0 else v_own end,
        settle_at = least(b.settle_at, reserve_credits.expires_at), updated_at = v_now
    where b.account_id = reserve_credits.account_id and b.credit_type = v_quote.credit_type;
  end if;

  insert into credits_private.holds as h
    (account_id, credit_type, feature, units, amount, expires_at, earmarks, counted_period, idempotency_key,
     request_hash, actor, maker_role, created_at, pool_id, pool_hold_id)
  values
    (account_id, v_quote.credit_type, feature, coalesce(units, '{}'), v_own, expires_at, v_earmark.earmarks,
     case when v_counted then v_quote.period_start end, idempotency_key, v_hash, credits_private._actor(),
     coalesce(v_maker, 'credits_service'), v_now, v_pool_id, v_pool_hold_id)
  returning h.hold_id into hold_id;

  ok := true;
  held := v_quote.cost;
  return next;
end
$$;

comment on function credits.reserve_credits(text, text, jsonb, text, interval, numeric) is
  'Holds the cost of work that may fail until capture_hold, release_hold or expires_at (at most 15 minutes past the given credits it earmarks), idempotent on idempotency_key.';
revoke all on function credits.reserve_credits(text, text, jsonb, text, interval, numeric) from public;
grant execute on function credits.reserve_credits(text, text, jsonb, text, interval, numeric)
  to credits_service, credits_user;
