-- Undoes 0008: nothing to restore in the schema. The function files of the
-- version rolled back to create credits_private._account again.
select 1;
