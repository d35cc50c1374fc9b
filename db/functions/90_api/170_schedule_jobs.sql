-- credits.schedule_jobs(): installs or updates the pg_cron jobs, by name, so
-- calling it again changes the jobs in place (one job per name):
--
--   credits.grant_daily_credits   hourly, minute 0   select * from credits.grant_daily_credits()
--   credits.expire_grants         every minute       select * from credits.expire_grants()
--   credits.expire_holds          every minute       select * from credits.expire_holds()
--   credits.prune_events          hourly, minute 15  select * from credits.prune_events()
--   credits.clean_cron_history    daily, 03:30       delete from cron.job_run_details older than 30 days
--
-- Schedules are in GMT (pg_cron 1.4). Hourly is enough for daily grants:
-- every account's local midnight falls in some hour, and the account's own
-- next mutating call issues a grant the job has not yet. Returns the jobs.
-- Where pg_cron is not installed in this database it schedules nothing and
-- raises a NOTICE, not an error (`pgcredits migrate` calls it only where
-- pg_cron is installed).
--
-- pg_cron runs a job as the role that scheduled it, so this function runs
-- with the caller's rights (SECURITY INVOKER, not definer): call it as a
-- login role that may use pg_cron (a superuser, or one granted USAGE on
-- schema cron) and may execute the three functions (credits_service).
-- Errors: 42501 when the caller could not run the jobs.
--
--   select * from credits.schedule_jobs();

create or replace function credits.schedule_jobs()
returns table (jobid bigint, job_name text, schedule text, command text)
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
  v_job record;
begin
  if not exists (select from pg_catalog.pg_extension x where x.extname = 'pg_cron') then
    raise notice 'pg_cron is not installed in database %: no job scheduled', current_database()
      using hint = 'Preload pg_cron (shared_preload_libraries), set cron.database_name to this database, '
                   'run CREATE EXTENSION pg_cron, then call credits.schedule_jobs() again.';
    return;
  end if;
  if not (select r.rolcanlogin from pg_catalog.pg_roles r where r.rolname = current_user) then
    raise exception 'pg_cron would run the jobs as role %, which cannot log in', current_user
      using errcode = '42501',
            hint = 'Call credits.schedule_jobs() as a login role (RESET ROLE first).';
  end if;
  if not (pg_catalog.has_function_privilege('credits.grant_daily_credits(date)', 'execute')
          and pg_catalog.has_function_privilege('credits.expire_grants()', 'execute')
          and pg_catalog.has_function_privilege('credits.expire_holds()', 'execute')
          and pg_catalog.has_function_privilege('credits.prune_events()', 'execute')) then
    raise exception 'role % may not run the credits jobs', current_user
      using errcode = '42501',
            hint = 'Grant credits_service to that role, or call credits.schedule_jobs() as one that has it.';
  end if;

  for v_job in
    select j.job_name, j.schedule, j.command
    from (values
      ('credits.grant_daily_credits', '0 * * * *', 'select * from credits.grant_daily_credits()'),
      ('credits.expire_grants', '* * * * *', 'select * from credits.expire_grants()'),
      ('credits.expire_holds', '* * * * *', 'select * from credits.expire_holds()'),
      ('credits.prune_events', '15 * * * *', 'select * from credits.prune_events()'),
      ('credits.clean_cron_history', '30 3 * * *',
       'delete from cron.job_run_details where end_time < credits.now() - interval ''30 days''')
    ) as j (job_name, schedule, command)
  loop
    jobid := cron.schedule(v_job.job_name, v_job.schedule, v_job.command);
    job_name := v_job.job_name;
    schedule := v_job.schedule;
    command := v_job.command;
    return next;
  end loop;
end
$$;

comment on function credits.schedule_jobs() is
  'Installs or updates the pg_cron jobs by name as the calling role (a notice where pg_cron is absent); service and admin.';
revoke all on function credits.schedule_jobs() from public;
grant execute on function credits.schedule_jobs() to credits_service;
