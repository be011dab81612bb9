-- Linking a phone: the computer that showed the QR code confirms the phone ("a phone — Chrome
-- on Android, near Utrecht — wants to link: is it yours?") before its test approval can be
-- answered, so whoever photographs the code cannot bind their own phone.
ALTER TABLE approvals ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 1;
