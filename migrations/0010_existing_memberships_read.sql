-- 0010: a member's view before read state existed counts as read, so the upgrade shows
-- nobody a flood of old messages as unread. Data only: applied whole, with its record.
UPDATE memberships m JOIN chat_groups g ON g.id = m.group_id SET m.last_read_seq = g.last_seq;
