-- +goose Up
-- Issue 9, honest numbers. Homework: every take-home minute beside the counted
-- ones, the all-kinds budget in force, and what guardians report (HW-15).
ALTER TABLE class_day_loads ADD COLUMN take_home_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE class_day_loads ADD COLUMN budget_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE class_day_loads ADD COLUMN feedback_students INTEGER NOT NULL DEFAULT 0;
ALTER TABLE class_day_loads ADD COLUMN reported_written INTEGER NOT NULL DEFAULT 0;
ALTER TABLE class_day_loads ADD COLUMN reported_longer INTEGER NOT NULL DEFAULT 0;
ALTER TABLE homework_feedbacks ADD COLUMN really_written BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE homework_feedbacks ADD COLUMN took_longer BOOLEAN NOT NULL DEFAULT 0;
-- After-school coverage (AS-03): demand, grades offered, service weekdays.
ALTER TABLE as_term_rollups ADD COLUMN students_applied INTEGER NOT NULL DEFAULT 0;
ALTER TABLE as_term_rollups ADD COLUMN students_placed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE as_term_rollups ADD COLUMN grades_total INTEGER NOT NULL DEFAULT 0;
ALTER TABLE as_term_rollups ADD COLUMN grades_offered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE as_term_rollups ADD COLUMN service_weekdays INTEGER NOT NULL DEFAULT 0;
ALTER TABLE as_term_rollups ADD COLUMN programs_unconfirmed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE as_term_rollups ADD COLUMN programs_confirmed INTEGER NOT NULL DEFAULT 0;
-- A program that looks like new lessons opens only on the principal's
-- written confirmation (AS-06).
ALTER TABLE programs ADD COLUMN confirmation TEXT NOT NULL DEFAULT '';
ALTER TABLE programs ADD COLUMN confirm_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE programs ADD COLUMN confirmed_by BIGINT;
ALTER TABLE programs ADD COLUMN confirmed_at DATETIME;
-- A staff entry names how the guardian asked (AS-04).
ALTER TABLE enrollments ADD COLUMN request_channel TEXT NOT NULL DEFAULT '';
-- A failed or timed-out period is retried: how many times it was tried.
ALTER TABLE job_runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE job_runs DROP COLUMN attempts;
ALTER TABLE enrollments DROP COLUMN request_channel;
ALTER TABLE programs DROP COLUMN confirmed_at;
ALTER TABLE programs DROP COLUMN confirmed_by;
ALTER TABLE programs DROP COLUMN confirm_reason;
ALTER TABLE programs DROP COLUMN confirmation;
ALTER TABLE as_term_rollups DROP COLUMN programs_confirmed;
ALTER TABLE as_term_rollups DROP COLUMN programs_unconfirmed;
ALTER TABLE as_term_rollups DROP COLUMN service_weekdays;
ALTER TABLE as_term_rollups DROP COLUMN grades_offered;
ALTER TABLE as_term_rollups DROP COLUMN grades_total;
ALTER TABLE as_term_rollups DROP COLUMN students_placed;
ALTER TABLE as_term_rollups DROP COLUMN students_applied;
ALTER TABLE homework_feedbacks DROP COLUMN took_longer;
ALTER TABLE homework_feedbacks DROP COLUMN really_written;
ALTER TABLE class_day_loads DROP COLUMN reported_longer;
ALTER TABLE class_day_loads DROP COLUMN reported_written;
ALTER TABLE class_day_loads DROP COLUMN feedback_students;
ALTER TABLE class_day_loads DROP COLUMN budget_minutes;
ALTER TABLE class_day_loads DROP COLUMN take_home_minutes;
