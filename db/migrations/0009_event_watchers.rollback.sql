-- Undoes 0009: every transaction notifies again (the function files of the
-- version rolled back to do not read the table).
set local role credits_owner;
drop table credits_private.event_watchers;
reset role;
