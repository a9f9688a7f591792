-- +goose Up
-- Exams (issue 5): exam events per school and term, papers with items,
-- results as levels, refusals by rule and day rollups for the bureau,
-- per-user calendar feed tokens.
CREATE TABLE exam_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id        BIGINT NOT NULL REFERENCES schools(id),
    term_id          BIGINT NOT NULL REFERENCES terms(id),
    subject_id       BIGINT NOT NULL REFERENCES subjects(id),
    grades           TEXT NOT NULL,
    kind             TEXT NOT NULL,
    paper_based      BOOLEAN NOT NULL DEFAULT TRUE,
    date             TEXT NOT NULL,
    start_time       TEXT NOT NULL DEFAULT '',
    duration_minutes INTEGER NOT NULL DEFAULT 0,
    organiser        TEXT NOT NULL DEFAULT 'school',
    status           TEXT NOT NULL DEFAULT 'draft',
    withdraw_reason  TEXT NOT NULL DEFAULT '',
    created_by       BIGINT REFERENCES users(id),
    approved_by      BIGINT REFERENCES users(id),
    created_at       DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at       DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_exam_events_term ON exam_events(school_id, term_id);
CREATE INDEX idx_exam_events_date ON exam_events(school_id, date);

CREATE TABLE exam_papers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id   BIGINT NOT NULL REFERENCES schools(id),
    exam_id     BIGINT NOT NULL UNIQUE REFERENCES exam_events(id),
    full_marks  REAL NOT NULL DEFAULT 0,
    predicted_p REAL NOT NULL DEFAULT 0,
    ok          BOOLEAN NOT NULL DEFAULT FALSE,
    blocked     BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE exam_items (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id       BIGINT NOT NULL REFERENCES schools(id),
    exam_id         BIGINT NOT NULL REFERENCES exam_events(id),
    number          INTEGER NOT NULL,
    points          REAL NOT NULL,
    difficulty      TEXT NOT NULL DEFAULT '',
    expected_p      REAL,
    cognitive       TEXT NOT NULL,
    real_life       BOOLEAN NOT NULL DEFAULT FALSE,
    within_standard BOOLEAN NOT NULL DEFAULT TRUE,
    UNIQUE (exam_id, number)
);

CREATE TABLE exam_results (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id  BIGINT NOT NULL REFERENCES schools(id),
    exam_id    BIGINT NOT NULL REFERENCES exam_events(id),
    student_id BIGINT NOT NULL REFERENCES students(id),
    scores     TEXT NOT NULL,
    total      REAL NOT NULL,
    level      TEXT NOT NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (exam_id, student_id)
);

CREATE TABLE exam_refusals (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id BIGINT NOT NULL REFERENCES schools(id),
    date      TEXT NOT NULL,
    rule      TEXT NOT NULL,
    attempts  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (school_id, date, rule)
);

CREATE TABLE exam_day_stats (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id      BIGINT NOT NULL REFERENCES schools(id),
    date           TEXT NOT NULL,
    events_total   INTEGER NOT NULL DEFAULT 0,
    events_paper   INTEGER NOT NULL DEFAULT 0,
    papers_checked INTEGER NOT NULL DEFAULT 0,
    papers_passing INTEGER NOT NULL DEFAULT 0,
    papers_blocked INTEGER NOT NULL DEFAULT 0,
    UNIQUE (school_id, date)
);

CREATE TABLE calendar_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    BIGINT NOT NULL UNIQUE REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- +goose Down
DROP TABLE calendar_tokens;
DROP TABLE exam_day_stats;
DROP TABLE exam_refusals;
DROP TABLE exam_results;
DROP TABLE exam_items;
DROP TABLE exam_papers;
DROP TABLE exam_events;
