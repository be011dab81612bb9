-- A signed-in user adding a phone: the code step in progress (the sign-in state it would be
-- in, as JSON; the code itself is only in sms_challenges, hashed). One per user.
CREATE TABLE phone_additions (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    state      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
