// Package ingest turns content into stored, searchable chunks: it extracts
// text from files, chunks it by tokens, embeds the chunks and writes them
// to the store, through a persistent job queue that resumes after a crash.
package ingest

import (
	"context"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest/chunk"
	"github.com/ragd/ragd/tokenize"
)

// EmbedBatch is how many texts go to an embedder in one call.
const EmbedBatch = 256

// ChunkText splits an item's text into chunks with the collection's
// chunking, at paragraph, sentence, word or token boundaries.
func ChunkText(text string, ch ragd.Chunking) ([]ragd.Chunk, error) {
	parts, err := chunk.Split(text, chunk.Options{MaxTokens: ch.MaxTokens, OverlapTokens: ch.OverlapTokens})
	if err != nil {
		return nil, err
	}
	out := make([]ragd.Chunk, len(parts))
	for i, p := range parts {
		out[i] = toStoreChunk(p)
	}
	return out, nil
}

// EmbedChunks fills in the vectors of chunks, calling emb in batches.
func EmbedChunks(ctx context.Context, emb embed.Embedder, chunks []*ragd.Chunk) error {
	for start := 0; start < len(chunks); start += EmbedBatch {
		batch := chunks[start:min(start+EmbedBatch, len(chunks))]
		texts := make([]string, len(batch))
		for i, c := range batch {
			texts[i] = embedText(c, emb.MaxInputTokens())
		}
		vecs, err := emb.Embed(ctx, texts)
		if err != nil {
			return err
		}
		for i, c := range batch {
			c.Vector = vecs[i]
		}
	}
	return nil
}

// embedText is the text embedded for c: its section line, when it has
// one, then its content, so that the vector places the passage in its
// document (a passage under "Installing on Windows" is about Windows even
// when it never says so); or its content alone when the two together
// would pass limit, the model's input limit in tokens.
func embedText(c *ragd.Chunk, limit int) string {
	if c.Section == "" {
		return c.Content
	}
	text := c.Section + "\n\n" + c.Content
	// A token is at least a byte, so a text of at most limit bytes needs
	// no counting (a 512-token chunk is about 2 KB; use-lite takes 8192).
	if len(text) > limit && tokenize.MustGet(tokenize.CL100K).Count(text) > limit {
		return c.Content
	}
	return text
}

// PrepareItems chunks and embeds the contents of items for a collection
// with the given chunking, and returns the items ready for the store and
// the number of tokens embedded.
func PrepareItems(ctx context.Context, emb embed.Embedder, ch ragd.Chunking, items []ragd.NewItem) ([]ragd.NewItem, int, error) {
	var all []*ragd.Chunk
	tokens := 0
	for i := range items {
		var err error
		if items[i].Chunks, err = ChunkText(items[i].Content, ch); err != nil {
			return nil, 0, err
		}
		for j := range items[i].Chunks {
			all = append(all, &items[i].Chunks[j])
			tokens += items[i].Chunks[j].Tokens
		}
	}
	if err := EmbedChunks(ctx, emb, all); err != nil {
		return nil, 0, err
	}
	return items, tokens, nil
}
