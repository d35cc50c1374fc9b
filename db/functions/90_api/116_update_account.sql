-- credits.update_account(account_id, plan, is_demo): changes an existing
-- account's plan or demo flag (open_account never does). Service and admin.
-- Returns the account. An argument left null is left as it is.
--
-- plan: the rule of a subscription event (credits_private._is_upgrade). An
-- upgrade takes effect at once: the period's monthly allowance becomes the
-- new plan's less what was already used of it, and plan_changed (cause
-- upgrade) is emitted. Anything else (a lower plan, unlimited to limited)
-- is scheduled for the end of the current period (credits.subscriptions
-- shows it as scheduled_plan): the account keeps its plan and allowance
-- until then, and the period's settling applies it (plan_changed, cause
-- scheduled). The current plan again cancels what was scheduled. A
-- subscriber's plan follows its provider's events: changing it here is
-- refused (PT422); after its subscription has ended it is allowed again.
-- is_demo: at once (a demo account is charged nothing and nothing of its
-- spending is recorded; its credits stay as they are).
-- Errors: PT404 unknown account or plan; PT422 nothing to change, or the
-- plan of a subscriber; 42501 other callers.
--
--   select plan, is_demo from credits.update_account('u_42', plan => 'pro');

create or replace function credits.update_account(account_id text, plan text default null,
                                                  is_demo boolean default null)
returns credits.accounts
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_account credits_private.accounts;
  v_event_id text;
  v_row credits.accounts;
begin
  if plan is null and is_demo is null then
    raise exception 'nothing to change for account %: pass plan or is_demo', coalesce(account_id, 'null')
      using errcode = 'PT422', hint = 'Pass plan => ''pro'' or is_demo => true.';
  end if;
  perform credits_private._account_to_act(account_id);
  if plan is not null and not exists (select from credits_private.plans p where p.code = update_account.plan) then
    raise exception 'unknown plan %', plan
      using errcode = 'PT404', hint = 'Create it with credits.upsert_plan.';
  end if;

  -- The account row first, then what the end of its period has done.
  perform from credits_private.accounts a where a.account_id = update_account.account_id for no key update;
  v_account := credits_private._settle_account(account_id, v_now);

  if plan is not null then
    select s.event_id into v_event_id
    from credits_private.subscriptions s
    where s.account_id = update_account.account_id and s.ended_at is null;
    if found and plan is distinct from v_account.plan then
      raise exception 'account % is subscribed (event %): its plan follows its payment provider''s events',
                      account_id, v_event_id
        using errcode = 'PT422',
              hint = 'Change the subscription at the provider; its event reaches credits.apply_subscription_event.';
    end if;
    if plan = v_account.plan then
      update credits_private.accounts a
      set scheduled_plan = null, updated_at = v_now
      where a.account_id = update_account.account_id and a.scheduled_plan is not null
      returning a.* into v_account;
    elsif credits_private._is_upgrade(v_account.plan, plan) then
      v_account := credits_private._upgrade_plan(
        v_account, plan, v_now, format('update_account: upgrade to plan %s', plan), null, null);
      v_account := credits_private._settle_account(account_id, v_now);  -- the new plan's daily allowance
    else
      update credits_private.accounts a
      set scheduled_plan = update_account.plan, updated_at = v_now
      where a.account_id = update_account.account_id
      returning a.* into v_account;
    end if;
  end if;

  if is_demo is not null then
    update credits_private.accounts a
    set is_demo = update_account.is_demo, updated_at = v_now
    where a.account_id = update_account.account_id and a.is_demo <> update_account.is_demo;
  end if;

  select a.* into v_row from credits.accounts a where a.account_id = update_account.account_id;
  return v_row;
end
$$;

comment on function credits.update_account(text, text, boolean) is
  'Changes an account''s plan (a higher one at once, a lower one at the period''s end) or its demo flag; service and admin.';
revoke all on function credits.update_account(text, text, boolean) from public;
grant execute on function credits.update_account(text, text, boolean) to credits_service;
