-- +goose Up
-- Bureau monitoring (issue 6): job runs, school reports, alerts, complaints,
-- reminders and indicator snapshots.

-- One row per (job, period): the insert that claims a period is what makes a
-- scheduled job run once per period across replicas.
CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job         TEXT NOT NULL,
    period      TEXT NOT NULL,
    started_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    finished_at DATETIME,
    outcome     TEXT NOT NULL DEFAULT 'running',
    detail      TEXT NOT NULL DEFAULT '',
    replica     TEXT NOT NULL DEFAULT '',
    UNIQUE (job, period)
);
CREATE INDEX idx_job_runs_started ON job_runs(started_at);

CREATE TABLE school_reports (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id      BIGINT NOT NULL REFERENCES schools(id),
    cycle          TEXT NOT NULL,
    period_key     TEXT NOT NULL,
    period_from    TEXT NOT NULL,
    period_to      TEXT NOT NULL,
    due_date       TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'draft',
    snapshot_json  TEXT NOT NULL DEFAULT '{}',
    snapshot_at    DATETIME,
    narrative      TEXT NOT NULL DEFAULT '',
    submitted_at   DATETIME,
    submitted_by   BIGINT REFERENCES users(id),
    reviewed_at    DATETIME,
    reviewed_by    BIGINT REFERENCES users(id),
    review_comment TEXT NOT NULL DEFAULT '',
    created_at     DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at     DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (school_id, cycle, period_key)
);
CREATE INDEX idx_school_reports_due ON school_reports(status, due_date);

CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id       BIGINT NOT NULL REFERENCES schools(id),
    rule            TEXT NOT NULL,
    indicator_key   TEXT NOT NULL,
    period_key      TEXT NOT NULL,
    value           REAL NOT NULL,
    threshold       REAL NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open',
    ack_note        TEXT NOT NULL DEFAULT '',
    acknowledged_at DATETIME,
    acknowledged_by BIGINT REFERENCES users(id),
    resolve_note    TEXT NOT NULL DEFAULT '',
    resolved_at     DATETIME,
    resolved_by     BIGINT REFERENCES users(id),
    created_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (school_id, rule, period_key)
);
CREATE INDEX idx_alerts_status ON alerts(school_id, status);

CREATE TABLE complaints (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    tracking_code     TEXT NOT NULL UNIQUE,
    region_code       TEXT NOT NULL REFERENCES regions(code),
    school_id         BIGINT REFERENCES schools(id),
    school_name       TEXT NOT NULL DEFAULT '',
    category          TEXT NOT NULL,
    body              TEXT NOT NULL,
    anonymous         BOOLEAN NOT NULL DEFAULT 0,
    reporter_name     TEXT NOT NULL DEFAULT '',
    reporter_contact  TEXT NOT NULL DEFAULT '',
    reporter_user_id  BIGINT REFERENCES users(id),
    reporter_ip_hash  TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT 'submitted',
    due_date          TEXT NOT NULL,
    triage_note       TEXT NOT NULL DEFAULT '',
    first_response_at DATETIME,
    assigned_at       DATETIME,
    school_response   TEXT NOT NULL DEFAULT '',
    responded_at      DATETIME,
    feedback          TEXT NOT NULL DEFAULT '',
    closed_at         DATETIME,
    created_at        DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at        DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_complaints_region ON complaints(region_code, status);
CREATE INDEX idx_complaints_school ON complaints(school_id, status);
CREATE INDEX idx_complaints_ip ON complaints(reporter_ip_hash, created_at);

CREATE TABLE reminders (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    school_id  BIGINT REFERENCES schools(id),
    kind       TEXT NOT NULL,
    period     TEXT NOT NULL,
    msg_id     TEXT NOT NULL,
    params     TEXT NOT NULL DEFAULT '{}',
    link       TEXT NOT NULL DEFAULT '',
    read_at    DATETIME,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (user_id, kind, period)
);

CREATE TABLE indicator_snapshots (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id   BIGINT NOT NULL REFERENCES schools(id),
    period      TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       REAL NOT NULL,
    computed_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (school_id, period, key)
);

-- +goose Down
DROP TABLE indicator_snapshots;
DROP TABLE reminders;
DROP TABLE complaints;
DROP TABLE alerts;
DROP TABLE school_reports;
DROP TABLE job_runs;
