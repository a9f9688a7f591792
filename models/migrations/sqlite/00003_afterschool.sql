-- +goose Up
-- After-school service (课后服务, issue 4): plans, vetted providers, programs,
-- enrollments, sessions and attendance, lottery runs, and the rollups the
-- bureau's indicators read.
CREATE TABLE service_plans (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id       BIGINT NOT NULL REFERENCES schools(id),
    term_id         BIGINT NOT NULL REFERENCES terms(id),
    days_json       TEXT NOT NULL DEFAULT '[]',
    segments_json   TEXT NOT NULL DEFAULT '',
    off_work_time   TEXT NOT NULL DEFAULT '17:30',
    compliant       BOOLEAN NOT NULL DEFAULT FALSE,
    violations_json TEXT NOT NULL DEFAULT '[]',
    updated_by      BIGINT,
    updated_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (school_id, term_id)
);

CREATE TABLE as_providers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    region_code  TEXT NOT NULL REFERENCES regions(code),
    name         TEXT NOT NULL,
    services     TEXT NOT NULL DEFAULT '',
    fee_standard TEXT NOT NULL DEFAULT '',
    vetted_until TEXT NOT NULL DEFAULT '',
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_as_providers_region ON as_providers(region_code);

CREATE TABLE programs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id      BIGINT NOT NULL REFERENCES schools(id),
    term_id        BIGINT NOT NULL REFERENCES terms(id),
    name           TEXT NOT NULL,
    category       TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    grades         TEXT NOT NULL DEFAULT '',
    capacity       INTEGER NOT NULL,
    room           TEXT NOT NULL DEFAULT '',
    room_type      TEXT NOT NULL DEFAULT '',
    mode           TEXT NOT NULL DEFAULT 'first_come',
    fee_fen        INTEGER NOT NULL DEFAULT 0,
    fee_unit       TEXT NOT NULL DEFAULT 'term',
    apply_until    TEXT NOT NULL DEFAULT '',
    lottery_seed   TEXT NOT NULL DEFAULT '',
    drill_flag     TEXT NOT NULL DEFAULT '',
    enrolled_count INTEGER NOT NULL DEFAULT 0,
    waitlist_count INTEGER NOT NULL DEFAULT 0,
    applied_count  INTEGER NOT NULL DEFAULT 0,
    queue_seq      INTEGER NOT NULL DEFAULT 0,
    created_by     BIGINT,
    created_at     DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_programs_school_term ON programs(school_id, term_id);

CREATE TABLE program_slots (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id  BIGINT NOT NULL REFERENCES schools(id),
    program_id BIGINT NOT NULL REFERENCES programs(id),
    weekday    INTEGER NOT NULL,
    start_time TEXT NOT NULL,
    end_time   TEXT NOT NULL
);
CREATE INDEX idx_program_slots_program ON program_slots(program_id);

CREATE TABLE program_instructors (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id     BIGINT NOT NULL REFERENCES schools(id),
    program_id    BIGINT NOT NULL REFERENCES programs(id),
    teacher_id    BIGINT REFERENCES users(id),
    provider_id   BIGINT REFERENCES as_providers(id),
    external_name TEXT NOT NULL DEFAULT ''
);
CREATE INDEX idx_program_instructors_program ON program_instructors(program_id);
CREATE INDEX idx_program_instructors_teacher ON program_instructors(teacher_id);

CREATE TABLE enrollments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id    BIGINT NOT NULL REFERENCES schools(id),
    program_id   BIGINT NOT NULL REFERENCES programs(id),
    student_id   BIGINT NOT NULL REFERENCES students(id),
    status       TEXT NOT NULL,
    position     INTEGER NOT NULL DEFAULT 0,
    choice_rank  INTEGER NOT NULL DEFAULT 0,
    requested_by BIGINT REFERENCES users(id),
    staff_entry  BOOLEAN NOT NULL DEFAULT FALSE,
    note         TEXT NOT NULL DEFAULT '',
    fee_waived   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX idx_enrollments_active ON enrollments(program_id, student_id) WHERE status IN ('enrolled', 'waitlisted', 'applied');
CREATE INDEX idx_enrollments_student ON enrollments(student_id, status);
CREATE INDEX idx_enrollments_program ON enrollments(program_id, status, position);

CREATE TABLE program_sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id     BIGINT NOT NULL REFERENCES schools(id),
    program_id    BIGINT NOT NULL REFERENCES programs(id),
    date          TEXT NOT NULL,
    start_time    TEXT NOT NULL,
    end_time      TEXT NOT NULL,
    instructor_id BIGINT REFERENCES users(id),
    status        TEXT NOT NULL DEFAULT 'scheduled',
    cancel_reason TEXT NOT NULL DEFAULT '',
    present_count INTEGER NOT NULL DEFAULT 0,
    absent_count  INTEGER NOT NULL DEFAULT 0,
    excused_count INTEGER NOT NULL DEFAULT 0,
    marked_at     DATETIME,
    UNIQUE (program_id, date, start_time)
);
CREATE INDEX idx_program_sessions_school_date ON program_sessions(school_id, date);
CREATE INDEX idx_program_sessions_instructor ON program_sessions(instructor_id, date);

CREATE TABLE session_attendance (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id  BIGINT NOT NULL REFERENCES schools(id),
    session_id BIGINT NOT NULL REFERENCES program_sessions(id),
    student_id BIGINT NOT NULL REFERENCES students(id),
    status     TEXT NOT NULL,
    marked_by  BIGINT,
    marked_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (session_id, student_id)
);

CREATE TABLE lottery_runs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id  BIGINT NOT NULL REFERENCES schools(id),
    term_id    BIGINT NOT NULL REFERENCES terms(id),
    seed       TEXT NOT NULL,
    programs   INTEGER NOT NULL DEFAULT 0,
    applicants INTEGER NOT NULL DEFAULT 0,
    winners    INTEGER NOT NULL DEFAULT 0,
    run_by     BIGINT,
    run_at     DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_lottery_runs_school ON lottery_runs(school_id, term_id);

-- Rollups maintained in the same transaction as the writes they summarize.
CREATE TABLE as_term_rollups (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id              BIGINT NOT NULL REFERENCES schools(id),
    term_id                BIGINT NOT NULL REFERENCES terms(id),
    has_plan               BOOLEAN NOT NULL DEFAULT FALSE,
    plan_compliant         BOOLEAN NOT NULL DEFAULT FALSE,
    days_per_week          INTEGER NOT NULL DEFAULT 0,
    minutes_per_day        INTEGER NOT NULL DEFAULT 0,
    programs               INTEGER NOT NULL DEFAULT 0,
    students_total         INTEGER NOT NULL DEFAULT 0,
    students_enrolled      INTEGER NOT NULL DEFAULT 0,
    teachers_total         INTEGER NOT NULL DEFAULT 0,
    teachers_participating INTEGER NOT NULL DEFAULT 0,
    updated_at             DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (school_id, term_id)
);

CREATE TABLE as_daily_rollups (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id          BIGINT NOT NULL REFERENCES schools(id),
    date               TEXT NOT NULL,
    sessions_held      INTEGER NOT NULL DEFAULT 0,
    sessions_cancelled INTEGER NOT NULL DEFAULT 0,
    present            INTEGER NOT NULL DEFAULT 0,
    absent             INTEGER NOT NULL DEFAULT 0,
    excused            INTEGER NOT NULL DEFAULT 0,
    UNIQUE (school_id, date)
);

-- +goose Down
DROP TABLE as_daily_rollups;
DROP TABLE as_term_rollups;
DROP TABLE lottery_runs;
DROP TABLE session_attendance;
DROP TABLE program_sessions;
DROP TABLE enrollments;
DROP TABLE program_instructors;
DROP TABLE program_slots;
DROP TABLE programs;
DROP TABLE as_providers;
DROP TABLE service_plans;
