-- 0007: private and direct groups, topics, roles, removals and bans (issue 15).
-- Each statement may run twice (IF NOT EXISTS), so a migration stopped part-way is
-- finished by running it again.
-- A direct group belongs to a pair of users (direct_lo < direct_hi, or equal for a user's
-- own): the unique pair makes it one per pair. Its name (two usernames and ", ": up to 66
-- characters) has a NULL name_key, so it never takes a group's name.
ALTER TABLE chat_groups
    ADD COLUMN IF NOT EXISTS kind ENUM('public', 'private', 'direct') NOT NULL DEFAULT 'public' AFTER name_key,
    ADD COLUMN IF NOT EXISTS topic VARCHAR(250) NOT NULL DEFAULT '' AFTER kind,
    ADD COLUMN IF NOT EXISTS direct_lo BIGINT UNSIGNED NULL AFTER topic,
    ADD COLUMN IF NOT EXISTS direct_hi BIGINT UNSIGNED NULL AFTER direct_lo,
    MODIFY COLUMN name VARCHAR(66) NOT NULL,
    MODIFY COLUMN name_key VARCHAR(192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    ADD UNIQUE KEY IF NOT EXISTS chat_groups_direct_pair (direct_lo, direct_hi);

ALTER TABLE memberships
    ADD COLUMN IF NOT EXISTS role ENUM('owner', 'moderator', 'member') NOT NULL DEFAULT 'member' AFTER user_id;

-- A member removed by someone else (removed_by), and whether they may come back: a
-- banned user cannot join or be added until the ban is lifted. Joining or being added
-- again clears a removal that was not a ban.
CREATE TABLE IF NOT EXISTS group_removals (
    group_id    BIGINT UNSIGNED NOT NULL,
    user_id     BIGINT UNSIGNED NOT NULL,
    removed_by  BIGINT UNSIGNED NULL,
    banned      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  DATETIME(3) NOT NULL,
    PRIMARY KEY (group_id, user_id),
    KEY group_removals_user (user_id),
    CONSTRAINT group_removals_group_fk FOREIGN KEY (group_id) REFERENCES chat_groups (id) ON DELETE CASCADE,
    CONSTRAINT group_removals_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT group_removals_by_fk FOREIGN KEY (removed_by) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
