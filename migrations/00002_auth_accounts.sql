-- +goose Up
-- The auth command side's own write model: credentials and the uniqueness
-- claims on usernames and e-mails. It is not a read model and is not rebuilt
-- from Kafka, because password hashes never go to Kafka.
CREATE TABLE auth_accounts (
    user_id        uuid        PRIMARY KEY,
    username       text        NOT NULL,
    email          text,
    password_hash  text,
    role           text        NOT NULL,
    twitch_user_id text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX auth_accounts_username_key ON auth_accounts (lower(username));
CREATE UNIQUE INDEX auth_accounts_email_key ON auth_accounts (lower(email)) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX auth_accounts_twitch_key ON auth_accounts (twitch_user_id) WHERE twitch_user_id IS NOT NULL;

-- +goose Down
DROP TABLE auth_accounts;
