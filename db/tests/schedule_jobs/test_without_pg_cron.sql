-- credits.schedule_jobs where pg_cron is not installed (SPEC §2 Maintenance,
-- §3 roles). The pgTAP database has no pg_cron extension: schedule_jobs
-- schedules nothing and raises a notice, not an error. It runs with the
-- caller's rights (pg_cron runs a job as the role that scheduled it).
-- Service and admin may call it; users and the auditor may not. With pg_cron
-- (jobs, schedules, idempotence, the stored commands): tests/test_jobs.py.

BEGIN;
SELECT plan(6);

-- as superuser: the setting
SELECT is_empty($$select from pg_extension where extname = 'pg_cron'$$,
                'the pgTAP database has no pg_cron extension');
SELECT is((select prosecdef from pg_proc where oid = 'credits.schedule_jobs()'::regprocedure), false,
          'schedule_jobs runs with the caller''s rights, so the jobs are the caller''s');

-- as service and admin
SELECT tests.act_as('credits_service');
SELECT is_empty($$select * from credits.schedule_jobs()$$,
                'without pg_cron schedule_jobs schedules nothing and raises no error');
SELECT tests.act_as('credits_admin');
SELECT lives_ok($$select * from credits.schedule_jobs()$$, 'an admin may call schedule_jobs');

-- as user and auditor
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select * from credits.schedule_jobs()$$, '42501',
                 'permission denied for function schedule_jobs', 'a user may not call schedule_jobs');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.schedule_jobs()$$, '42501',
                 'permission denied for function schedule_jobs', 'the auditor may not call schedule_jobs');

SELECT tests.act_as_superuser();
SELECT * FROM finish();
ROLLBACK;
