-- Roles: `admin` reads the escalation summary and the admin page; everyone
-- else is a `user`. Set from the shell: `chorus users promote NAME`.

ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user';
