-- Release console sessions, shared by every replica. The browser holds a
-- random token; only its SHA-256 is stored (like API keys), so a copy of the
-- database signs no one in. Times are epoch seconds.
CREATE TABLE tollgate_console_session (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX tollgate_console_session_user ON tollgate_console_session (user_id);
CREATE INDEX tollgate_console_session_expiry ON tollgate_console_session (expires_at);
