-- +goose Up
-- Race-free counters for throttles (login per account and address with
-- back-off, a ceiling per address, complaints per address and prefix): one row
-- per bucket, bumped by a single upsert. Times are Unix milliseconds so both
-- databases compare them as numbers.
CREATE TABLE throttles (
    bucket           TEXT PRIMARY KEY,
    hits             BIGINT NOT NULL DEFAULT 0,
    window_start_ms  BIGINT NOT NULL DEFAULT 0,
    blocked_until_ms BIGINT NOT NULL DEFAULT 0
);

-- Idempotency-Key of a create: the first answer is kept and replayed for a
-- retry with the same key and body; another body under the key is refused.
CREATE TABLE idempotency_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      BIGINT NOT NULL,
    idem_key     TEXT NOT NULL,
    route        TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL
);
CREATE UNIQUE INDEX idx_idempotency_keys ON idempotency_keys(user_id, idem_key);
CREATE INDEX idx_idempotency_keys_created ON idempotency_keys(created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE throttles;
