-- The version of each block of 4,096 chunk IDs (id >> 12) of each
-- collection's keyword rows: the collection's index_writes as of the last
-- change of the block's rows, written in the same transaction
-- (store/index.go). The keyword cache (store/keywords.go) holds each
-- block's postings under its version, reads these rows in every search's
-- read transaction, and rebuilds only the blocks whose version moved, so
-- its rankings are those of the search's snapshot.
CREATE TABLE keyword_blocks (
	collection_seq INTEGER NOT NULL,
	block          INTEGER NOT NULL,
	version        INTEGER NOT NULL,
	PRIMARY KEY (collection_seq, block)
) WITHOUT ROWID;

INSERT INTO keyword_blocks (collection_seq, block, version)
	SELECT co.seq, d.id >> 12, co.index_writes
	FROM fts_chunks_docsize d JOIN chunks c ON c.id = d.id JOIN collections co ON co.id = c.collection_id
	WHERE true GROUP BY 1, 2;
