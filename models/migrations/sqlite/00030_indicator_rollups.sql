-- +goose Up
-- Province scale (issue 12): see the PostgreSQL migration. SQLite has only
-- row triggers; models.EnsureIndicatorTriggers creates them.
CREATE TABLE indicator_rollups (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id  BIGINT NOT NULL REFERENCES schools(id),
    period     TEXT NOT NULL,
    from_date  TEXT NOT NULL,
    to_date    TEXT NOT NULL,
    students   BIGINT NOT NULL DEFAULT 0,
    vals       TEXT NOT NULL DEFAULT '{}',
    sources    TEXT NOT NULL DEFAULT '',
    version    BIGINT NOT NULL DEFAULT 0,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (school_id, period)
);
CREATE INDEX idx_indicator_rollups_period ON indicator_rollups(period, school_id);

CREATE TABLE region_indicator_rollups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    region_code TEXT NOT NULL REFERENCES regions(code),
    period      TEXT NOT NULL,
    from_date   TEXT NOT NULL,
    to_date     TEXT NOT NULL,
    schools     INTEGER NOT NULL DEFAULT 0,
    students    BIGINT NOT NULL DEFAULT 0,
    vals        TEXT NOT NULL DEFAULT '{}',
    version     BIGINT NOT NULL DEFAULT 0,
    updated_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (region_code, period)
);

CREATE TABLE indicator_outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id  BIGINT NOT NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- +goose Down
DROP TABLE indicator_outbox;
DROP TABLE region_indicator_rollups;
DROP TABLE indicator_rollups;
