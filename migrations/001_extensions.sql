-- 001: the extensions stpm relies on.
-- pg_trgm gives title similarity for duplicate-application detection (重复申报).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE SCHEMA IF NOT EXISTS stpm;
