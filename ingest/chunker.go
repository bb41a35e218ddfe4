package ingest

import (
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/chunk"
	"github.com/ragd/ragd/ingest/extract"
)

// This file is the pipeline's one seam to the chunking engine, package
// chunk: newChunker streams a document's text into chunks, ChunkText
// (items.go) chunks a text held in memory.

// chunker chunks a document written to it segment by segment, emitting
// chunks in order with their page, section and byte offsets in the
// document.
type chunker struct {
	c   *chunk.Chunker
	sep string // what goes before the next segment
}

func newChunker(opts ragd.Chunking, emit func(ragd.Chunk) error) (*chunker, error) {
	c, err := chunk.New(chunk.Options{MaxTokens: opts.MaxTokens, OverlapTokens: opts.OverlapTokens},
		func(ch chunk.Chunk) error { return emit(toStoreChunk(ch)) })
	return &chunker{c: c}, err
}

// write adds a segment and returns the document text it added: segments
// are paragraphs or pages, kept apart by a paragraph break.
func (c *chunker) write(seg extract.Segment) (string, error) {
	text := c.sep + seg.Text
	c.sep = "\n\n"
	return text, c.c.Write(chunk.Segment{Text: text, Page: seg.Page, Section: seg.Section})
}

// close emits the last chunks.
func (c *chunker) close() error { return c.c.Close() }

func toStoreChunk(p chunk.Chunk) ragd.Chunk {
	return ragd.Chunk{Index: p.Index, Content: p.Text, Tokens: p.Tokens, Page: p.Page, Section: p.Section,
		Start: int(p.Start), End: int(p.End)}
}
