set local role credits_owner;
drop table if exists credits_private.holds cascade;
reset role;
