package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest/extract"
	"github.com/ragd/ragd/store"
)

// MaxItemContent bounds the content stored on the one item a document
// file becomes: the first MaxItemContent bytes of its extracted text (cut
// at a character boundary). All of the text is chunked and searchable;
// the item's content is only a preview, so that listing items of a
// collection of large files stays cheap.
const MaxItemContent = 256 << 10

// Stats are cumulative ingest counters, with the time spent in each stage.
type Stats struct {
	Files, Bytes, Pages, Chunks, Tokens int64
	Parse, Chunk, Embed, Store          time.Duration
}

type stageStats struct {
	files, bytes, pages, chunks, tokens atomic.Int64
	parse, chunk, embed, store          atomic.Int64 // nanoseconds
}

// Stats returns the counters of the files completed so far.
func (g *Ingester) Stats() Stats {
	s := &g.stats
	return Stats{Files: s.files.Load(), Bytes: s.bytes.Load(), Pages: s.pages.Load(), Chunks: s.chunks.Load(),
		Tokens: s.tokens.Load(), Parse: time.Duration(s.parse.Load()), Chunk: time.Duration(s.chunk.Load()),
		Embed: time.Duration(s.embed.Load()), Store: time.Duration(s.store.Load())}
}

// fileRun is the state of one file's ingest.
type fileRun struct {
	g      *Ingester
	job    *store.Job
	emb    embed.Embedder
	opts   ragd.Chunking
	meta   map[string]any
	timing [4]time.Duration // parse, chunk, embed, store
	// started is when the ingest began, the created time of its items.
	started int64

	pending  []*store.StagedItem // items with chunks waiting for embedding
	nPending int
	chunks   int
	doc      *store.StagedItem // the item of a one-document file
	content  strings.Builder
}

const (
	stageParse = iota
	stageChunk
	stageEmbed
	stageStore
)

// ingest runs the pipeline on one job: extract to a spool, chunk, embed
// and stage in batches, publish. A panic in it becomes an error.
func (g *Ingester) ingest(ctx context.Context, job *store.Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("ingest panic: %v\n%s", r, debug.Stack())
		}
	}()
	emb, err := g.embedders.ForCollection(job.Collection)
	if err != nil {
		return err
	}
	opts := job.File.Chunking
	opts.MaxTokens = min(opts.MaxTokens, emb.MaxInputTokens())
	opts.OverlapTokens = min(opts.OverlapTokens, opts.MaxTokens-1)
	r := &fileRun{g: g, job: job, emb: emb, opts: opts, meta: job.File.Metadata, started: g.store.Now().Unix()}

	start := time.Now()
	if err := g.fetch(ctx, job.File.ID); err != nil {
		return err
	}
	spool, err := createSpool(filepath.Join(g.tmpDir(), job.File.ID+".spool"))
	if err != nil {
		return err
	}
	defer spool.remove()
	res, err := extract.Extract(ctx, extract.Source{Path: g.Path(job.File.ID), Filename: job.File.Filename,
		ContentType: job.File.ContentType}, extract.Options{Limits: g.cfg.Limits}, spool)
	if err != nil {
		return err
	}
	sr, err := spool.reader()
	if err != nil {
		return err
	}
	r.timing[stageParse] += time.Since(start)

	if err := r.chunkAll(ctx, sr); err != nil {
		return err
	}
	if r.chunks == 0 {
		return &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "empty_file",
			Message: fmt.Sprintf("the file %q holds no text to index", job.File.Filename)}
	}
	start = time.Now()
	var texts []*store.StagedItem
	if r.doc != nil {
		r.doc.Content = r.content.String()
		r.doc.Description = Describe(truncate(r.doc.Content, 4096))
		texts = append(texts, r.doc)
	}
	f, err := g.write.PublishFile(ctx, job, res.Pages, texts, g.store.Now().Unix())
	if err != nil {
		return err
	}
	r.timing[stageStore] += time.Since(start)
	g.record(f, r.timing)
	g.notify(ctx, job, f)
	return nil
}

func (g *Ingester) record(f *ragd.File, t [4]time.Duration) {
	s := &g.stats
	s.files.Add(1)
	s.bytes.Add(f.Bytes)
	s.pages.Add(int64(f.Pages))
	s.chunks.Add(int64(f.Chunks))
	s.tokens.Add(int64(f.Tokens))
	s.parse.Add(int64(t[stageParse]))
	s.chunk.Add(int64(t[stageChunk]))
	s.embed.Add(int64(t[stageEmbed]))
	s.store.Add(int64(t[stageStore]))
	g.log.Info("file ingested", "file_id", f.ID, "bytes", f.Bytes, "pages", f.Pages, "items", f.Items, "chunks", f.Chunks,
		"parse", t[stageParse].Round(time.Millisecond).String(), "chunk", t[stageChunk].Round(time.Millisecond).String(),
		"embed", t[stageEmbed].Round(time.Millisecond).String(), "store", t[stageStore].Round(time.Millisecond).String())
}

// chunkAll reads the spool back and chunks it: a one-document file's
// segments into one item, each record into an item of its own.
func (r *fileRun) chunkAll(ctx context.Context, sr *spoolReader) error {
	var ch *chunker
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, err := sr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		start, nested := time.Now(), r.timing[stageEmbed]+r.timing[stageStore]
		if e.record {
			err = r.addRecord(ctx, e.rec)
		} else {
			if ch == nil {
				if ch, err = newChunker(r.opts, func(c ragd.Chunk) error { return r.addDocChunk(ctx, c) }); err != nil {
					return err
				}
			}
			var text string
			text, err = ch.write(e.seg)
			r.keep(text)
		}
		r.chunkTime(start, nested)
		if err != nil {
			return err
		}
	}
	if ch != nil {
		start, nested := time.Now(), r.timing[stageEmbed]+r.timing[stageStore]
		err := ch.close()
		r.chunkTime(start, nested)
		if err != nil {
			return err
		}
	}
	return r.flush(ctx)
}

// chunkTime counts the time since start as chunking, less the embedding
// and staging of the batches that chunking filled meanwhile (nested was
// their total at start).
func (r *fileRun) chunkTime(start time.Time, nested time.Duration) {
	r.timing[stageChunk] += time.Since(start) - (r.timing[stageEmbed] + r.timing[stageStore] - nested)
}

// keep adds text to the document item's content, up to MaxItemContent.
func (r *fileRun) keep(text string) {
	r.content.WriteString(truncate(text, MaxItemContent-r.content.Len()))
}

// truncate returns the longest prefix of s of at most n bytes that ends at
// a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n = max(n, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// item returns ni as a new item of the file, with its ID and created time.
func (r *fileRun) item(ni ragd.NewItem) *store.StagedItem {
	ni.ID, ni.Created = ragd.NewID("item"), r.started
	return &store.StagedItem{NewItem: ni}
}

// addDocChunk queues a chunk of the one-document item.
func (r *fileRun) addDocChunk(ctx context.Context, c ragd.Chunk) error {
	if r.doc == nil {
		r.doc = r.item(ragd.NewItem{Metadata: r.meta})
	}
	if len(r.doc.Chunks) == 0 {
		r.pending = append(r.pending, r.doc)
	}
	r.doc.Chunks = append(r.doc.Chunks, c)
	return r.added(ctx, 1)
}

// addRecord queues a record as an item of its own, its metadata merged
// over the file's. Records without text are skipped.
func (r *fileRun) addRecord(ctx context.Context, rec extract.Record) error {
	if strings.TrimSpace(rec.Text) == "" {
		return nil
	}
	meta := maps.Clone(r.meta)
	if meta == nil {
		meta = map[string]any{}
	}
	maps.Copy(meta, rec.Metadata)
	if err := ragd.ValidateMetadata(fmt.Sprintf("the metadata of line %d", rec.Line), meta); err != nil {
		return err
	}
	chunks, err := ChunkText(rec.Text, r.opts)
	if err != nil {
		return err
	}
	content := truncate(rec.Text, MaxItemContent)
	it := r.item(ragd.NewItem{Content: content, Description: Describe(truncate(content, 4096)), Metadata: meta, Chunks: chunks})
	r.pending = append(r.pending, it)
	return r.added(ctx, len(it.Chunks))
}

// added counts n queued chunks and flushes a full batch.
func (r *fileRun) added(ctx context.Context, n int) error {
	r.nPending += n
	r.chunks += n
	if r.nPending < EmbedBatch {
		return nil
	}
	return r.flush(ctx)
}

// flush embeds the queued chunks in one batch and stages them with their
// items in one transaction.
func (r *fileRun) flush(ctx context.Context) error {
	if len(r.pending) == 0 {
		return nil
	}
	start := time.Now()
	all := make([]*ragd.Chunk, 0, r.nPending)
	for _, it := range r.pending {
		for i := range it.Chunks {
			all = append(all, &it.Chunks[i])
		}
	}
	if err := EmbedChunks(ctx, r.emb, all); err != nil {
		return err
	}
	r.timing[stageEmbed] += time.Since(start)
	start = time.Now()
	if err := r.g.write.StageChunks(ctx, r.job, r.pending); err != nil {
		return err
	}
	r.timing[stageStore] += time.Since(start)
	for _, it := range r.pending {
		it.Chunks = nil
	}
	r.pending, r.nPending = r.pending[:0], 0
	return nil
}
