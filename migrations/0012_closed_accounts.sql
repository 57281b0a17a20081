-- 0012: an account can be closed (issue 17, DELETE /api/me). The row stays, so the username
-- stays taken and the user's tombstones keep their author; closed_at marks it closed.
ALTER TABLE users ADD COLUMN IF NOT EXISTS closed_at DATETIME(3) NULL AFTER created_at;
