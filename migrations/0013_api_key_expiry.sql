-- API keys may expire: NULL is a key without an expiry (keys made before
-- this version keep working until revoked). Epoch seconds, like token expiry.
ALTER TABLE tollgate_api_key ADD COLUMN expires_at BIGINT;
CREATE INDEX tollgate_api_key_user ON tollgate_api_key (user_id);
CREATE INDEX tollgate_oauth_token_user ON tollgate_oauth_token (user_id);
