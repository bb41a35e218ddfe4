-- Every collection's search entries move into shared tables (index.go):
-- vectors into one vec0 table per dimension count, partitioned by the
-- collection's seq and created with the first collection of its dimension
-- count; words into fts_chunks, whose tokens the "scoped" tokenizer
-- prefixes with the collection's seq. BM25 takes each collection's own row
-- count and token total from keyword_rows and keyword_tokens;
-- index_writes counts the changes of its search entries (vectors and
-- keyword rows, which change together), the version of its cached term
-- counts (termcounts.go) and vectors (vecscan.go). The existing vec_c<seq> and
-- fts_c<seq> tables are moved by moveCollectionTables, which runs after
-- this file in the same transaction.
CREATE VIRTUAL TABLE fts_chunks USING fts5(content, content='', contentless_delete=1, tokenize='scoped');
ALTER TABLE collections ADD COLUMN keyword_rows INTEGER NOT NULL DEFAULT 0;
ALTER TABLE collections ADD COLUMN keyword_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE collections ADD COLUMN index_writes INTEGER NOT NULL DEFAULT 0;
-- How vector search holds the collection's vectors in memory (vecscan.go):
-- 'auto', 'int8' or 'none'.
ALTER TABLE collections ADD COLUMN quantization TEXT NOT NULL DEFAULT 'auto';
-- A collection's chunk IDs, in order: the rowid ranges of parallel keyword
-- ranking, and the chunks of a deleted collection.
CREATE INDEX chunks_collection ON chunks(collection_id, id);
