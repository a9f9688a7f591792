-- +goose Up
-- Data that grows for years (issue 12): homework_items and class_day_loads
-- are partitioned by school year (RANGE on date, 1 August to 1 August, so a
-- year's two semesters share a partition), so anything over this term reads
-- this year's partition only. A default partition takes dates outside every
-- year (it should stay empty); jianfu_school_year_partition creates a year,
-- moving any of its rows out of the default first, and the
-- school_year_partitions job calls it for the current and the next year.
--
-- Guarantees kept: primary keys become (id, date) (a unique constraint on a
-- partitioned table must hold the partition key); ids still come from one
-- sequence per table, so id alone stays unique; class_day_loads keeps
-- UNIQUE (class_id, date) (the cap lock); a feedback's item must exist: the
-- foreign key becomes (item_id, date) → homework_items(id, date), a feedback
-- on an item carrying the item's date (SaveFeedback sets it).
-- +goose StatementBegin
CREATE FUNCTION jianfu_school_year_partition(tbl text, first_year int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    part text := format('%s_%s_%s', tbl, first_year, first_year + 1);
    lo text := format('%s-08-01', first_year);
    hi text := format('%s-08-01', first_year + 1);
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS)', part, tbl);
    EXECUTE format('WITH moved AS (DELETE FROM %I WHERE date >= %L AND date < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
        tbl || '_other', lo, hi, part);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', tbl, part, lo, hi);
    RETURN part;
END $$;
-- +goose StatementEnd

ALTER TABLE homework_feedbacks DROP CONSTRAINT homework_feedbacks_item_id_fkey;

ALTER TABLE homework_items RENAME TO homework_items_unpartitioned;
DROP INDEX idx_homework_items_class_date, idx_homework_items_teacher_date, idx_homework_items_school_date;
CREATE SEQUENCE homework_items_id;
SELECT setval('homework_items_id', COALESCE((SELECT MAX(id) FROM homework_items_unpartitioned), 0) + 1, false);
-- LIKE keeps every column earlier migrations added, in order.
CREATE TABLE homework_items (
    LIKE homework_items_unpartitioned INCLUDING DEFAULTS,
    PRIMARY KEY (id, date),
    FOREIGN KEY (school_id) REFERENCES schools(id),
    FOREIGN KEY (class_id) REFERENCES classes(id),
    FOREIGN KEY (subject_id) REFERENCES subjects(id),
    FOREIGN KEY (teacher_id) REFERENCES users(id)
) PARTITION BY RANGE (date);
ALTER TABLE homework_items ALTER COLUMN id SET DEFAULT nextval('homework_items_id');
ALTER SEQUENCE homework_items_id OWNED BY homework_items.id;
CREATE TABLE homework_items_other PARTITION OF homework_items DEFAULT;
CREATE INDEX idx_homework_items_class_date ON homework_items(class_id, date);
CREATE INDEX idx_homework_items_teacher_date ON homework_items(teacher_id, date);
CREATE INDEX idx_homework_items_school_date ON homework_items(school_id, date);
CREATE INDEX idx_homework_items_id ON homework_items(id);

ALTER TABLE class_day_loads RENAME TO class_day_loads_unpartitioned;
DROP INDEX idx_class_day_loads_school_date;
ALTER TABLE class_day_loads_unpartitioned DROP CONSTRAINT class_day_loads_class_id_date_key;
CREATE SEQUENCE class_day_loads_id;
SELECT setval('class_day_loads_id', COALESCE((SELECT MAX(id) FROM class_day_loads_unpartitioned), 0) + 1, false);
CREATE TABLE class_day_loads (
    LIKE class_day_loads_unpartitioned INCLUDING DEFAULTS,
    PRIMARY KEY (id, date),
    UNIQUE (class_id, date),
    FOREIGN KEY (school_id) REFERENCES schools(id),
    FOREIGN KEY (class_id) REFERENCES classes(id)
) PARTITION BY RANGE (date);
ALTER TABLE class_day_loads ALTER COLUMN id SET DEFAULT nextval('class_day_loads_id');
ALTER SEQUENCE class_day_loads_id OWNED BY class_day_loads.id;
CREATE TABLE class_day_loads_other PARTITION OF class_day_loads DEFAULT;
CREATE INDEX idx_class_day_loads_school_date ON class_day_loads(school_id, date);
CREATE INDEX idx_class_day_loads_id ON class_day_loads(id);

-- A partition for every school year with rows, and for this one and the next.
-- +goose StatementBegin
DO $$
DECLARE
    y int;
    lo int;
    hi int;
    this int := EXTRACT(YEAR FROM now() - interval '7 months')::int; -- the year whose 1 August began this school year
BEGIN
    SELECT MIN(LEFT(d, 4)::int - CASE WHEN SUBSTRING(d, 6, 2) < '08' THEN 1 ELSE 0 END),
           MAX(LEFT(d, 4)::int - CASE WHEN SUBSTRING(d, 6, 2) < '08' THEN 1 ELSE 0 END)
      INTO lo, hi
      FROM (SELECT date AS d FROM homework_items_unpartitioned UNION ALL SELECT date FROM class_day_loads_unpartitioned) t
     WHERE d ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$';
    lo := LEAST(COALESCE(lo, this), this);
    hi := GREATEST(COALESCE(hi, this), this + 1);
    FOR y IN lo .. hi LOOP
        PERFORM jianfu_school_year_partition('homework_items', y);
        PERFORM jianfu_school_year_partition('class_day_loads', y);
    END LOOP;
END $$;
-- +goose StatementEnd

INSERT INTO homework_items SELECT * FROM homework_items_unpartitioned;
INSERT INTO class_day_loads SELECT * FROM class_day_loads_unpartitioned;
DROP TABLE homework_items_unpartitioned;
DROP TABLE class_day_loads_unpartitioned;

ALTER TABLE homework_feedbacks ADD CONSTRAINT homework_feedbacks_item_fkey
    FOREIGN KEY (item_id, date) REFERENCES homework_items(id, date);

-- +goose Down
ALTER TABLE homework_feedbacks DROP CONSTRAINT homework_feedbacks_item_fkey;
CREATE TABLE homework_items_flat (LIKE homework_items INCLUDING DEFAULTS);
INSERT INTO homework_items_flat SELECT * FROM homework_items;
CREATE TABLE class_day_loads_flat (LIKE class_day_loads INCLUDING DEFAULTS);
INSERT INTO class_day_loads_flat SELECT * FROM class_day_loads;
ALTER SEQUENCE homework_items_id OWNED BY NONE;
ALTER SEQUENCE class_day_loads_id OWNED BY NONE;
DROP TABLE homework_items;
DROP TABLE class_day_loads;
ALTER TABLE homework_items_flat RENAME TO homework_items;
ALTER TABLE homework_items ADD PRIMARY KEY (id);
CREATE INDEX idx_homework_items_class_date ON homework_items(class_id, date);
CREATE INDEX idx_homework_items_teacher_date ON homework_items(teacher_id, date);
CREATE INDEX idx_homework_items_school_date ON homework_items(school_id, date);
ALTER TABLE class_day_loads_flat RENAME TO class_day_loads;
ALTER TABLE class_day_loads ADD PRIMARY KEY (id), ADD UNIQUE (class_id, date);
CREATE INDEX idx_class_day_loads_school_date ON class_day_loads(school_id, date);
ALTER TABLE homework_feedbacks ADD CONSTRAINT homework_feedbacks_item_id_fkey FOREIGN KEY (item_id) REFERENCES homework_items(id);
DROP FUNCTION jianfu_school_year_partition(text, int);
