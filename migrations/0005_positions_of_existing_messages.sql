-- 0005: before the log, every persistent change was a new message: each existing
-- message's pos is its seq, so a cursor made before this migration (which carries seqs)
-- reads as the same place in the log. Data only: applied whole, with its record.
UPDATE messages SET pos = seq;
UPDATE chat_groups SET last_pos = last_seq;
UPDATE memberships SET start_pos = start_seq;
