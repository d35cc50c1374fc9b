-- check_feature's settled read shows the draw of a settled balance
-- (issue 13): credits_private._settled_draw_plan returns each grant's
-- source too, which check_feature's draws name. A changed result is a new
-- signature: the old one goes, its function file creates the new one.

set local role credits_owner;
drop function if exists credits_private._settled_draw_plan(text, text, numeric);
reset role;
