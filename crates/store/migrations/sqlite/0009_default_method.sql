-- The method a user chose to be asked for first (at most one per user).
ALTER TABLE mfa_methods ADD COLUMN is_default INTEGER NOT NULL DEFAULT 0;
