-- Undoes 0017.
set local role credits_owner;
alter table credits_private.periods drop column withheld_rollovers;
reset role;
