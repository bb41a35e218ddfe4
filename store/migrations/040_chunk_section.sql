-- A chunk of a file remembers the document title and heading path it
-- starts under ("Title > Installation > On Windows"), so that its section's
-- words find it in keyword search and search results can show where it
-- is. Chunks stored before have no section (''); their keyword entries stay
-- as they were.
ALTER TABLE chunks ADD COLUMN section TEXT NOT NULL DEFAULT '';
