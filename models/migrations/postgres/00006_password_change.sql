-- +goose Up
-- An account whose password an administrator generated must choose its own
-- at the next sign-in (the generated one is a one-time password).
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE users DROP COLUMN must_change_password;
