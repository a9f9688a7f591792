-- +goose Up
CREATE TABLE regions (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    parent_code TEXT REFERENCES regions(code),
    level       TEXT NOT NULL DEFAULT 'county'
);

CREATE TABLE schools (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    region_code   TEXT NOT NULL REFERENCES regions(code),
    name          TEXT NOT NULL,
    stage         TEXT NOT NULL,
    code          TEXT NOT NULL UNIQUE,
    off_work_time TEXT NOT NULL DEFAULT '17:30',
    time_zone     TEXT NOT NULL DEFAULT 'Asia/Shanghai',
    created_at    DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_schools_region ON schools(region_code);

CREATE TABLE terms (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id   BIGINT NOT NULL REFERENCES schools(id),
    school_year TEXT NOT NULL,
    semester    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    start_date  TEXT NOT NULL,
    end_date    TEXT NOT NULL,
    UNIQUE (school_id, school_year, semester)
);

CREATE TABLE no_school_days (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id BIGINT NOT NULL REFERENCES schools(id),
    term_id   BIGINT NOT NULL REFERENCES terms(id),
    date      TEXT NOT NULL,
    reason    TEXT NOT NULL DEFAULT '',
    UNIQUE (school_id, date)
);

CREATE TABLE subjects (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    code    TEXT NOT NULL UNIQUE,
    name    TEXT NOT NULL UNIQUE,
    name_en TEXT NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    school_id     BIGINT REFERENCES schools(id),
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_users_school ON users(school_id);

CREATE TABLE classes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id       BIGINT NOT NULL REFERENCES schools(id),
    grade           INTEGER NOT NULL,
    number          INTEGER NOT NULL,
    name            TEXT NOT NULL,
    head_teacher_id BIGINT REFERENCES users(id),
    UNIQUE (school_id, grade, number)
);

CREATE TABLE students (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id  BIGINT NOT NULL REFERENCES schools(id),
    class_id   BIGINT NOT NULL REFERENCES classes(id),
    name       TEXT NOT NULL,
    student_no TEXT NOT NULL,
    gender     TEXT NOT NULL DEFAULT '',
    priority_groups TEXT NOT NULL DEFAULT '',
    UNIQUE (school_id, student_no)
);
CREATE INDEX idx_students_class ON students(class_id);

CREATE TABLE guardians (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id  BIGINT NOT NULL REFERENCES schools(id),
    user_id    BIGINT NOT NULL REFERENCES users(id),
    student_id BIGINT NOT NULL REFERENCES students(id),
    relation   TEXT NOT NULL DEFAULT '',
    UNIQUE (user_id, student_id)
);
CREATE INDEX idx_guardians_student ON guardians(student_id);

CREATE TABLE teaching_assignments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id  BIGINT NOT NULL REFERENCES schools(id),
    teacher_id BIGINT NOT NULL REFERENCES users(id),
    class_id   BIGINT NOT NULL REFERENCES classes(id),
    subject_id BIGINT NOT NULL REFERENCES subjects(id),
    UNIQUE (class_id, subject_id, teacher_id)
);
CREATE INDEX idx_teaching_teacher ON teaching_assignments(teacher_id);

CREATE TABLE settings (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    scope      TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_by BIGINT,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (scope, key)
);

CREATE TABLE audit_logs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id   BIGINT,
    actor_id    BIGINT,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    before_json TEXT NOT NULL DEFAULT '',
    after_json  TEXT NOT NULL DEFAULT '',
    request_id  TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_audit_entity ON audit_logs(entity, entity_id);
CREATE INDEX idx_audit_school ON audit_logs(school_id, created_at);

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      BIGINT NOT NULL REFERENCES users(id),
    kind         TEXT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at   DATETIME NOT NULL,
    last_seen_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_sessions_user ON sessions(user_id);

CREATE TABLE login_failures (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    username   TEXT NOT NULL,
    ip         TEXT NOT NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_login_failures_user ON login_failures(username, created_at);
CREATE INDEX idx_login_failures_ip ON login_failures(ip, created_at);

CREATE TABLE casbin_rule (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    ptype VARCHAR(100) NOT NULL DEFAULT '',
    v0    VARCHAR(100) NOT NULL DEFAULT '',
    v1    VARCHAR(100) NOT NULL DEFAULT '',
    v2    VARCHAR(100) NOT NULL DEFAULT '',
    v3    VARCHAR(100) NOT NULL DEFAULT '',
    v4    VARCHAR(100) NOT NULL DEFAULT '',
    v5    VARCHAR(100) NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX idx_casbin_rule ON casbin_rule(ptype, v0, v1, v2, v3, v4, v5);

-- +goose Down
DROP TABLE casbin_rule;
DROP TABLE login_failures;
DROP TABLE sessions;
DROP TABLE audit_logs;
DROP TABLE settings;
DROP TABLE teaching_assignments;
DROP TABLE guardians;
DROP TABLE students;
DROP TABLE classes;
DROP TABLE users;
DROP TABLE subjects;
DROP TABLE no_school_days;
DROP TABLE terms;
DROP TABLE schools;
DROP TABLE regions;
