set local role credits_owner;
alter table credits_private.accounts drop column if exists daily_until;
reset role;
