// Package ingest turns content into stored, searchable chunks: it extracts
// text from files, chunks it by tokens, embeds the chunks and writes them
// to the store, through a persistent job queue that resumes after a crash.
package ingest

import (
	"context"

	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/tokenize"
)

// EmbedBatch is how many texts go to an embedder in one call.
const EmbedBatch = 256

// ChunkText splits text into chunks of at most ch.MaxTokens tokens with
// ch.OverlapTokens tokens of overlap, recording byte offsets.
func ChunkText(text string, ch store.Chunking) []store.Chunk {
	enc := tokenize.MustGet(tokenize.CL100K)
	toks := enc.Encode(text)
	var out []store.Chunk
	offset := 0
	step := ch.MaxTokens - ch.OverlapTokens
	// ends[i] is the byte offset where token i ends.
	ends := make([]int, len(toks))
	for i, t := range toks {
		offset += len(enc.Decode([]int{t}))
		ends[i] = offset
	}
	for start := 0; start < len(toks); start += step {
		end := min(start+ch.MaxTokens, len(toks))
		from := 0
		if start > 0 {
			from = ends[start-1]
		}
		out = append(out, store.Chunk{Index: len(out), Content: text[from:ends[end-1]], Tokens: end - start, Start: from, End: ends[end-1]})
		if end == len(toks) {
			break
		}
	}
	return out
}

// EmbedChunks fills in the vectors of chunks, calling emb in batches.
func EmbedChunks(ctx context.Context, emb embed.Embedder, chunks []*store.Chunk) error {
	for start := 0; start < len(chunks); start += EmbedBatch {
		batch := chunks[start:min(start+EmbedBatch, len(chunks))]
		texts := make([]string, len(batch))
		for i, c := range batch {
			texts[i] = c.Content
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

// PrepareItems chunks and embeds the contents of items for a collection
// with the given chunking, and returns the items ready for the store and
// the number of tokens embedded.
func PrepareItems(ctx context.Context, emb embed.Embedder, ch store.Chunking, items []store.NewItem) ([]store.NewItem, int, error) {
	var all []*store.Chunk
	tokens := 0
	for i := range items {
		items[i].Chunks = ChunkText(items[i].Content, ch)
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
