package ingest

import (
	"strings"

	"github.com/ragd/ragd/store"
)

// This file is the pipeline's one seam to the chunking engine: newChunker
// streams a document's text into chunks and splitText chunks a text held
// in memory.

// chunkWindow is how much text the chunker holds before chunking it.
const chunkWindow = 256 << 10

// pageMark says that the text from byte off (within the window) on is on page.
type pageMark struct{ off, page int }

// chunker chunks a document written to it segment by segment, emitting
// chunks in order with their page and byte offsets in the document.
type chunker struct {
	opts  store.Chunking
	emit  func(store.Chunk) error
	buf   strings.Builder
	pages []pageMark
	base  int // document offset of the window's first byte
	index int
}

func newChunker(opts store.Chunking, emit func(store.Chunk) error) *chunker {
	return &chunker{opts: opts, emit: emit}
}

// write adds text that is on page (0: unknown).
func (c *chunker) write(text string, page int) error {
	if n := len(c.pages); n == 0 || c.pages[n-1].page != page {
		c.pages = append(c.pages, pageMark{c.buf.Len(), page})
	}
	c.buf.WriteString(text)
	if c.buf.Len() < chunkWindow {
		return nil
	}
	text = c.buf.String()
	cut := strings.LastIndex(text, "\n\n")
	if cut <= 0 {
		cut = len(text)
	}
	return c.flush(text, cut)
}

// close emits the last chunks.
func (c *chunker) close() error {
	text := c.buf.String()
	return c.flush(text, len(text))
}

// flush chunks text[:cut] and keeps the rest in the window.
func (c *chunker) flush(text string, cut int) error {
	for _, ch := range ChunkText(text[:cut], c.opts) {
		ch.Page = c.pageAt(ch.Start)
		ch.Index = c.index
		c.index++
		ch.Start += c.base
		ch.End += c.base
		if err := c.emit(ch); err != nil {
			return err
		}
	}
	rest := text[cut:]
	var kept []pageMark
	for _, m := range c.pages {
		if m.off > cut {
			kept = append(kept, pageMark{m.off - cut, m.page})
		}
	}
	if len(kept) == 0 || kept[0].off > 0 {
		kept = append([]pageMark{{0, c.pageAt(cut)}}, kept...)
	}
	c.pages = kept
	c.base += cut
	c.buf.Reset()
	c.buf.WriteString(rest)
	return nil
}

// pageAt returns the page of window byte off.
func (c *chunker) pageAt(off int) int {
	page := 0
	for _, m := range c.pages {
		if m.off > off {
			break
		}
		page = m.page
	}
	return page
}

// splitText chunks a text held in memory, such as a record's.
func splitText(text string, opts store.Chunking) []store.Chunk {
	return ChunkText(text, opts)
}
