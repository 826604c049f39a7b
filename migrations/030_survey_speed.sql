-- 030: a cheaper key for the reserve pool (docs/survey.md, "Speed and memory").
-- The normalised title is compared byte for byte: with the "C" collation its unique index
-- (survey_year, org_id, title_norm) no longer calls the locale's comparison on every
-- insert. Which titles are equal does not change (every collation here is deterministic).
ALTER TABLE stpm.reserve_entries ALTER COLUMN title_norm TYPE text COLLATE "C";
