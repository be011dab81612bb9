-- Forward-auth no longer keeps rows of its own: its cookie names the sign-in session and is
-- signed, so it lives and dies with that session (idle, absolute, sign-out, password change,
-- MFA reset) and can never be presented as a sign-in session. Derived rows made by earlier
-- versions could be (their id was a session id): they go.
DELETE FROM sessions WHERE parent IS NOT NULL;
DROP INDEX sessions_parent;
ALTER TABLE sessions DROP COLUMN parent;
