-- +goose Up
-- Homework (issue 3): items teachers log, head-teacher subject quotas, parent
-- feedback, and the class-day rollup that serializes concurrent saves.
CREATE TABLE homework_items (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id    BIGINT NOT NULL REFERENCES schools(id),
    class_id     BIGINT NOT NULL REFERENCES classes(id),
    subject_id   BIGINT NOT NULL REFERENCES subjects(id),
    teacher_id   BIGINT NOT NULL REFERENCES users(id),
    date         TEXT NOT NULL,
    due_date     TEXT NOT NULL,
    title        TEXT NOT NULL,
    details      TEXT NOT NULL DEFAULT '',
    minutes      INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    layer        TEXT NOT NULL,
    in_school    BOOLEAN NOT NULL DEFAULT FALSE,
    counted      BOOLEAN NOT NULL DEFAULT FALSE,
    status       TEXT NOT NULL DEFAULT 'active',
    withdrawn_at DATETIME,
    created_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_homework_items_class_date ON homework_items(class_id, date);
CREATE INDEX idx_homework_items_teacher_date ON homework_items(teacher_id, date);
CREATE INDEX idx_homework_items_school_date ON homework_items(school_id, date);

CREATE TABLE homework_quotas (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id  BIGINT NOT NULL REFERENCES schools(id),
    class_id   BIGINT NOT NULL REFERENCES classes(id),
    subject_id BIGINT NOT NULL REFERENCES subjects(id),
    minutes    INTEGER NOT NULL,
    updated_by BIGINT,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (class_id, subject_id)
);

CREATE TABLE homework_feedbacks (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id          BIGINT NOT NULL REFERENCES schools(id),
    class_id           BIGINT NOT NULL REFERENCES classes(id),
    student_id         BIGINT NOT NULL REFERENCES students(id),
    guardian_id        BIGINT NOT NULL REFERENCES users(id),
    item_id            BIGINT REFERENCES homework_items(id),
    date               TEXT NOT NULL,
    actual_minutes     INTEGER NOT NULL,
    estimated_minutes  INTEGER NOT NULL,
    stopped_at_bedtime BOOLEAN NOT NULL DEFAULT FALSE,
    created_at         DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at         DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX idx_homework_feedbacks_item ON homework_feedbacks(student_id, item_id) WHERE item_id IS NOT NULL;
CREATE UNIQUE INDEX idx_homework_feedbacks_day ON homework_feedbacks(student_id, date) WHERE item_id IS NULL;
CREATE INDEX idx_homework_feedbacks_class_date ON homework_feedbacks(class_id, date);

-- One row per class and day, maintained in the same transaction as every
-- homework write; the bureau dashboard reads it, never raw items.
CREATE TABLE class_day_loads (
    id                         INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id                  BIGINT NOT NULL REFERENCES schools(id),
    class_id                   BIGINT NOT NULL REFERENCES classes(id),
    grade                      INTEGER NOT NULL,
    date                       TEXT NOT NULL,
    total_minutes              INTEGER NOT NULL DEFAULT 0,
    all_minutes                INTEGER NOT NULL DEFAULT 0,
    cap_minutes                INTEGER NOT NULL DEFAULT 0,
    item_count                 INTEGER NOT NULL DEFAULT 0,
    refused_count              INTEGER NOT NULL DEFAULT 0,
    feedback_count             INTEGER NOT NULL DEFAULT 0,
    feedback_actual_minutes    INTEGER NOT NULL DEFAULT 0,
    feedback_estimated_minutes INTEGER NOT NULL DEFAULT 0,
    bedtime_stops              INTEGER NOT NULL DEFAULT 0,
    updated_at                 DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (class_id, date)
);
CREATE INDEX idx_class_day_loads_school_date ON class_day_loads(school_id, date);

-- +goose Down
DROP TABLE class_day_loads;
DROP TABLE homework_feedbacks;
DROP TABLE homework_quotas;
DROP TABLE homework_items;
