-- 0013: Web Push subscriptions (issue 16). One row per browser subscription of a user, made
-- with a session: signing that session out (or its expiry) deletes it with the session row.
-- endpoint is the push service's URL (ASCII, unique per user); p256dh and auth are the
-- browser's keys, base64url as PushSubscription.toJSON() gives them.
CREATE TABLE IF NOT EXISTS push_subscriptions (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    user_id     BIGINT UNSIGNED NOT NULL,
    session_id  BIGINT UNSIGNED NOT NULL,
    endpoint    VARCHAR(1000) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    p256dh      VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    auth        VARCHAR(50) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at  DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY push_subscriptions_user_endpoint (user_id, endpoint),
    KEY push_subscriptions_endpoint (endpoint),
    KEY push_subscriptions_session (session_id),
    CONSTRAINT push_subscriptions_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT push_subscriptions_session_fk FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
