-- How often the user answered "not now" to the invitation to use an authenticator app.
ALTER TABLE users ADD COLUMN app_invite_skips INTEGER NOT NULL DEFAULT 0;
