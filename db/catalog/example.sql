-- The example catalog `make run` loads: a small catalog drawn from real
-- credit products. Re-running it updates in place (every call is an upsert).
--
-- free: 6 credits at signup, a few features, 3 video renders a period; the
--       default plan, where a canceled subscription ends.
-- pro:  500 credits every month (they do not accumulate), every feature.
-- team: unlimited (features cost nothing; usage is still recorded).

select credits.upsert_credit_type('credits', 'General-purpose credits');

-- Priced per call.
select credits.upsert_feature('roast', 'credits', base_cost => 1,
  description => 'One AI roast of a profile, flat price per call');
-- Priced per second of video.
select credits.upsert_feature('video_render', 'credits', base_cost => 0,
  unit_rates => '{"seconds": 0.5}', description => 'Video render, 0.5 credits per second');
-- Priced per AI token (input and output tokens at different rates).
select credits.upsert_feature('chat', 'credits', base_cost => 0,
  unit_rates => '{"input_tokens": 0.0005, "output_tokens": 0.0015}',
  description => 'AI chat message, priced per token');
-- Priced per character of speech.
select credits.upsert_feature('tts', 'credits', base_cost => 0,
  unit_rates => '{"characters": 0.0002}', description => 'Text to speech, priced per character');

-- free is the default plan: where a canceled subscription ends.
select credits.upsert_plan('free', signup_grant => '{"credits": 6}',
  description => 'Free: 6 credits at signup', is_default => true);
select credits.upsert_plan('pro', monthly_allowance => '{"credits": 500}',
  description => 'Pro: 500 credits a month, non-cumulative');
select credits.upsert_plan('team', unlimited => true,
  description => 'Team: unlimited, usage recorded');

select credits.set_plan_feature('free', 'roast');
select credits.set_plan_feature('free', 'chat');
select credits.set_plan_feature('free', 'tts');
select credits.set_plan_feature('free', 'video_render', period_limit => 3);
select credits.set_plan_feature(plan, feature)
from (values ('pro'), ('team')) as p (plan),
     (values ('roast'), ('video_render'), ('chat'), ('tts')) as f (feature);
