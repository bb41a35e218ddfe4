-- How many of a file's items were deleted one by one (DELETE .../items/{id})
-- since its ingest: such a file is no longer all indexed, and uploading its
-- bytes again ingests it again instead of returning it as it is.
ALTER TABLE files ADD COLUMN items_deleted INTEGER NOT NULL DEFAULT 0;
