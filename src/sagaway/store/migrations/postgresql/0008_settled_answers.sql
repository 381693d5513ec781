-- An answer (SendTaskSuccess / SendTaskFailure) whose effect is journaled is kept, marked
-- settled, until its execution ends, instead of being deleted: its row goes on refusing a
-- second answer for the same attempt through deliveries_one_answer. Deleted, it left a
-- moment in which a server that had read the execution's state before the answer was
-- journaled (the task still waiting) could record a second answer, and accept it.
ALTER TABLE deliveries ADD COLUMN settled BOOLEAN NOT NULL DEFAULT false;
