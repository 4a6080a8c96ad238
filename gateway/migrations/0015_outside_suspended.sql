-- Toll fraud: an unusual burst of international calls suspends the person's calls outside
-- the company (emergency numbers still go out) until an administrator lifts it.
ALTER TABLE employees ADD COLUMN outside_suspended INTEGER NOT NULL DEFAULT 0;
