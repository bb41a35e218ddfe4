package ingest

import (
	"github.com/ragd/ragd/ingest/chunk"
	"github.com/ragd/ragd/store"
)

// This file is the pipeline's one seam to the chunking engine, package
// chunk: newChunker streams a document's text into chunks, ChunkText
// (items.go) chunks a text held in memory.

// chunker chunks a document written to it segment by segment, emitting
// chunks in order with their page and byte offsets in the document.
type chunker struct{ c *chunk.Chunker }

func newChunker(opts store.Chunking, emit func(store.Chunk) error) (*chunker, error) {
	c, err := chunk.New(chunk.Options{MaxTokens: opts.MaxTokens, OverlapTokens: opts.OverlapTokens},
		func(ch chunk.Chunk) error { return emit(toStoreChunk(ch)) })
	return &chunker{c}, err
}

// write adds text that is on page (0: unknown).
func (c *chunker) write(text string, page int) error {
	return c.c.Write(chunk.Segment{Text: text, Page: page})
}

// close emits the last chunks.
func (c *chunker) close() error { return c.c.Close() }

func toStoreChunk(p chunk.Chunk) store.Chunk {
	return store.Chunk{Index: p.Index, Content: p.Text, Tokens: p.Tokens, Page: p.Page, Start: int(p.Start), End: int(p.End)}
}
