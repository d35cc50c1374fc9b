-- The `tests` schema: helpers for pgTAP files. Loaded only into test
-- databases (conftest.py), never by `pgcredits migrate`. Every helper
-- returns text (an empty string): pytest-pgtap reads every row a file
-- prints as TAP text, and a NULL or a timestamp row would break it.

create schema if not exists tests;
grant usage on schema tests to public;

-- tests.act_as(role, sub): act as a caller for the rest of the transaction,
-- the way PostgREST and the gateway do: the role and request.jwt.claims set
-- transaction-locally. tests.act_as('credits_user', 'alice').
create or replace function tests.act_as(role text, sub text default null)
returns text
language plpgsql
as $$
begin
  perform set_config('role', role, true);
  perform set_config('request.jwt.claims',
                     case when sub is null then '' else jsonb_build_object('sub', sub, 'role', role)::text end,
                     true);
  return '';
end
$$;

-- tests.act_as_superuser(): back to the session's own (superuser) role.
create or replace function tests.act_as_superuser()
returns text
language plpgsql
as $$
begin
  perform set_config('role', 'none', true);
  perform set_config('request.jwt.claims', '', true);
  return '';
end
$$;

-- tests.travel(at): move credits.now() to `at` for the rest of the
-- transaction (the test database has credits.allow_clock_override = on).
create or replace function tests.travel(at timestamptz)
returns text
language sql
as $$
  select '' from set_config('credits.now', at::text, true)
$$;

-- tests.catalog(): a small known catalog for tests, independent of the example.
--   credit types: credits, analysis
--   features: roast (1 a call), video (0.5 a second), chat (0.0005 an input
--     token, 0.0015 an output token), analysis_run (2 analysis credits),
--     chapter (1 a call), premium (3 a call)
--   plans: free (the default plan; 6 credits at signup; roast, video, chat,
--     analysis_run, chapter limited to 3 a period; not premium), pro (100
--     credits a month, every feature, premium at 2 instead of 3), team
--     (unlimited, every feature)
create or replace function tests.catalog()
returns text
language sql
as $$
  select credits.upsert_credit_type('credits', 'General credits');
  select credits.upsert_credit_type('analysis', 'Analysis credits');
  select credits.upsert_feature('roast', 'credits', 1);
  select credits.upsert_feature('video', 'credits', 0, '{"seconds": 0.5}');
  select credits.upsert_feature('chat', 'credits', 0, '{"input_tokens": 0.0005, "output_tokens": 0.0015}');
  select credits.upsert_feature('analysis_run', 'analysis', 2);
  select credits.upsert_feature('chapter', 'credits', 1);
  select credits.upsert_feature('premium', 'credits', 3);
  select credits.upsert_plan('free', signup_grant => '{"credits": 6}', is_default => true);
  select credits.upsert_plan('pro', monthly_allowance => '{"credits": 100}');
  select credits.upsert_plan('team', unlimited => true);
  select credits.set_plan_feature('free', f)
  from unnest(array['roast', 'video', 'chat', 'analysis_run']) f;
  select credits.set_plan_feature('free', 'chapter', period_limit => 3);
  select credits.set_plan_feature(p, f)
  from unnest(array['pro', 'team']) p,
       unnest(array['roast', 'video', 'chat', 'analysis_run', 'chapter', 'premium']) f;
  select credits.set_plan_feature('pro', 'premium', cost_override => 2);
  select '';
$$;
