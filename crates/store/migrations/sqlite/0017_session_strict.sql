-- A sign-in that must verify a real second factor (prompt=login, max_age, "confirm it's you"
-- before changing methods): a remembered device does not stand in for it.
ALTER TABLE sessions ADD COLUMN strict INTEGER NOT NULL DEFAULT 0;
