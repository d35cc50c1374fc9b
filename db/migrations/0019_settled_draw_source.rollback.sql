-- Drops the signature 0019 made room for; the function file of the version
-- before 0019 creates the old one again when `pgcredits migrate` of that
-- version runs.

set local role credits_owner;
drop function if exists credits_private._settled_draw_plan(text, text, numeric);
reset role;
