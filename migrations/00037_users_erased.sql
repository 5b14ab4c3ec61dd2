-- +goose Up
-- When the user's personal data was erased (UserErased); the users read
-- model then shows the e-mail as '' (docs/events.md, "Personal data").
ALTER TABLE users ADD COLUMN erased_at timestamptz;

-- +goose Down
ALTER TABLE users DROP COLUMN erased_at;
