-- 0008: every existing group is public (0007's default) with its creator as owner; a
-- group its creator has left gets the member who has been there longest. Data only:
-- applied whole, with its record.
UPDATE memberships m JOIN chat_groups g ON g.id = m.group_id AND g.created_by = m.user_id
SET m.role = 'owner';
UPDATE memberships m
JOIN (SELECT c.group_id,
             (SELECT f.id FROM memberships f WHERE f.group_id = c.group_id ORDER BY f.joined_at, f.id LIMIT 1) AS first_id
      FROM memberships c GROUP BY c.group_id HAVING SUM(c.role = 'owner') = 0) ownerless ON m.id = ownerless.first_id
SET m.role = 'owner';
