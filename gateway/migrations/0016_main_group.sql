-- The company's main number may ring several extensions at once (a group) instead of one
-- extension: their extensions, separated by spaces. At most one of main_ext and main_group
-- is set.
ALTER TABLE companies ADD COLUMN main_group TEXT;
