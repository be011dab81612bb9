-- The browser of an audited request, so users can recognise their own sign-ins.
ALTER TABLE audit_events ADD COLUMN user_agent TEXT;
