-- A forward-auth session is derived from a browser's sign-in session and ends with it: its
-- own random id goes into a cookie that reverse proxies (and the sites behind them) see, so
-- the sign-in session's id never leaves tweestap's own host.
ALTER TABLE sessions ADD COLUMN parent TEXT;
CREATE INDEX sessions_parent ON sessions (parent);
