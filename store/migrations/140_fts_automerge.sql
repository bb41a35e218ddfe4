-- FTS5 merges a level of the keyword index's segments once 16 of them
-- have accumulated, not 4: each posting is rewritten fewer times as the
-- index grows, and a bulk insert indexes a 120-word chunk in 34 us
-- instead of 42 at 100k chunks (docs/benchmarks.md, "Bulk writes"). A
-- query reads up to 15 segments a level instead of 3: a two-term query
-- over those 100k chunks took the same time (38 ms), and searches rank
-- with the keyword cache (keywords.go), FTS5 only until it is built.
INSERT INTO fts_chunks(fts_chunks, rank) VALUES ('automerge', 16);
