-- The functions of credits that run on the coordinator, each carrying the
-- caller to the workers it writes on (30_delegate.sql, _citus_carry): the
-- catalog (reference tables, a copy on every node), the watchers, and the
-- jobs, which reach every account (60_jobs.sql says how).

select credits_private._citus_carry('credits.upsert_credit_type(text, text)');
select credits_private._citus_carry('credits.upsert_feature(text, text, numeric, jsonb, text)');
select credits_private._citus_carry('credits.upsert_plan(text, jsonb, jsonb, jsonb, boolean, text, boolean, jsonb, jsonb)');
select credits_private._citus_carry('credits.set_plan_feature(text, text, boolean, integer, numeric)');
select credits_private._citus_carry('credits.watch_events(text, text[], interval)');
select credits_private._citus_carry('credits.unwatch_events(text, text[])');
select credits_private._citus_carry('credits.prune_events()');
select credits_private._citus_carry('credits.expire_grants()');
select credits_private._citus_carry('credits.expire_holds()');
select credits_private._citus_carry('credits.grant_daily_credits(date)');
