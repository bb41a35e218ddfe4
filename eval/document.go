package eval

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest/chunk"
)

// Doc is one whole document of a set, as its package ships it.
type Doc struct {
	// Name is the name Pair.Source gives it, e.g. "faq/general.rst.txt";
	// its base name is the uploaded file's name.
	Name string
	// Data is the file as uploaded to ragd.
	Data []byte
	// Text is its plain text, for the BM25 baseline's windows.
	Text string
}

// LoadPythonFAQDocs returns the documents of the Python FAQ set: the
// reStructuredText sources, whose plain text is the file itself.
func LoadPythonFAQDocs(ctx context.Context, cacheDir string) ([]Doc, error) {
	return loadDocs(ctx, cacheDir, "python3.11-doc", faqDir, "*.rst.txt", "faq/", func(b []byte) (string, error) { return string(b), nil })
}

// LoadDebianFAQDocs returns the documents of the Debian FAQ set: its HTML
// pages, with DocBookText as their plain text.
func LoadDebianFAQDocs(ctx context.Context, cacheDir string) ([]Doc, error) {
	return loadDocs(ctx, cacheDir, "debian-faq", debianFAQDir, "*.en.html", "FAQ/", func(b []byte) (string, error) { return DocBookText(string(b)) })
}

// loadDocs reads the files of a set (see docFiles) as Docs.
func loadDocs(ctx context.Context, cacheDir, pkg, sub, pattern, prefix string, text func([]byte) (string, error)) ([]Doc, error) {
	files, err := docFiles(ctx, cacheDir, pkg, sub, pattern)
	if err != nil {
		return nil, err
	}
	docs := make([]Doc, len(files))
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		t, err := text(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		docs[i] = Doc{Name: prefix + filepath.Base(f), Data: b, Text: t}
	}
	return docs, nil
}

// DocReport is the outcome of the document-level task.
type DocReport struct {
	// Model is the embedding model of the collection: ragd's default.
	Model string
	// Docs, Pairs, Chunks and Windows count the uploaded files, the
	// questions, the chunks ragd made of the files and the baseline's
	// windows.
	Docs, Pairs, Chunks, Windows int
	// Unfound counts the questions whose answer key is not in the words
	// of its document's text at all (a parser difference); they count as
	// misses in every row.
	Unfound int
	// Results has one ranking per search mode, in Modes order.
	Results []DocResult
	// BM25 ranks windows of the documents' text (see RunDocuments).
	BM25 Ranking
	// Ingest is how long uploading and ingesting all files took.
	Ingest time.Duration
}

// DocResult is the document task's ranking in one search mode.
type DocResult struct {
	Mode string
	Ranking
}

// RunDocuments measures the document-level task: it uploads every
// document whole, as a file (POST .../files?wait=true), into one
// collection of ragd's default model, searches each question with top_k
// 10 in each mode (cfg.Modes, default Modes), and counts a hit at the rank
// of the first retrieved chunk that holds the question's AnswerKey as a
// contiguous run of words. The baseline is BM25 over windows of the
// documents' text cut by ragd's own chunker with the collection's chunk
// size and overlap: ragd's chunks are not listed by the API, so BM25
// cannot rank those, but the windows have their size and their preference
// for paragraph and sentence boundaries. Each pair's Source names its
// document.
func RunDocuments(ctx context.Context, cfg Config, docs []Doc, pairs []Pair) (_ *DocReport, err error) {
	if len(pairs) == 0 || len(docs) == 0 {
		return nil, ragd.Invalid("pairs", "no documents or questions to measure")
	}
	c := cfg.newClient()
	coll, err := c.createCollection(ctx, cfg.collectionName("docs"), "")
	if err != nil {
		return nil, err
	}
	defer func() {
		if derr := c.deleteCollection(context.WithoutCancel(ctx), coll.ID); err == nil {
			err = derr
		}
	}()
	rep := &DocReport{Model: coll.EmbeddingModel, Docs: len(docs), Pairs: len(pairs)}
	start := time.Now()
	for i, d := range docs {
		cfg.progress("documents: uploading %s (%d/%d)", d.Name, i+1, len(docs))
		chunks, err := c.uploadFile(ctx, coll.ID, filepath.Base(d.Name), d.Data)
		if err != nil {
			return nil, err
		}
		rep.Chunks += chunks
	}
	rep.Ingest = time.Since(start)

	keys := make([][]string, len(pairs))
	docWords := make(map[string][]string, len(docs))
	for _, d := range docs {
		docWords[d.Name] = embed.Words(d.Text)
	}
	for i, p := range pairs {
		keys[i] = AnswerKey(p.Answer)
		if !containsWords(docWords[p.Source], keys[i]) {
			rep.Unfound++
		}
	}
	rankOfKey := func(texts []string, key []string) int {
		for r, t := range texts {
			if containsWords(embed.Words(t), key) {
				return r + 1
			}
		}
		return 0
	}

	var windows []string
	for _, d := range docs {
		cs, err := chunk.Split(d.Text, chunk.Options{MaxTokens: coll.Chunking.MaxTokens, OverlapTokens: coll.Chunking.OverlapTokens})
		if err != nil {
			return nil, err
		}
		for _, ch := range cs {
			windows = append(windows, ch.Text)
		}
	}
	rep.Windows = len(windows)
	ix := NewBM25(windows)
	bm25 := make([]int, len(pairs))
	for i, p := range pairs {
		var got []string
		for _, w := range ix.Search(p.Question, Cutoff) {
			got = append(got, windows[w])
		}
		bm25[i] = rankOfKey(got, keys[i])
	}
	rep.BM25 = NewRanking(bm25)

	modes := cfg.Modes
	if len(modes) == 0 {
		modes = Modes
	}
	for _, mode := range modes {
		cfg.progress("documents: searching, mode %s", mode)
		ranks := make([]int, len(pairs))
		for i, p := range pairs {
			hits, err := c.search(ctx, coll.ID, p.Question, mode, nil, true)
			if err != nil {
				return nil, err
			}
			texts := make([]string, len(hits))
			for k, h := range hits {
				texts[k] = h.Content
			}
			ranks[i] = rankOfKey(texts, keys[i])
		}
		rep.Results = append(rep.Results, DocResult{Mode: mode, Ranking: NewRanking(ranks)})
	}
	return rep, nil
}

// WriteTable prints the document task's table, BM25 last.
func (r *DocReport) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "model\tmode\t%s\t\n", rankingHeader)
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", r.Model, res.Mode, rankingCells(res.Ranking, r.BM25))
	}
	fmt.Fprintf(tw, "BM25 over %d windows\t-\t%s\t\n", r.Windows, rankingCells(r.BM25, r.BM25))
	if err := tw.Flush(); err != nil {
		return err
	}
	modes := map[string]Ranking{}
	for _, res := range r.Results {
		modes[res.Mode] = res.Ranking
	}
	hybrid, ok1 := modes["hybrid"]
	if plain, ok2 := modes[HybridNoRerank]; ok1 && ok2 {
		writeRerankGain(w, r.Model, hybrid, plain)
	}
	_, err := fmt.Fprintf(w, "(%d questions in %d files, %d chunks, ingest %s, top_k %d; %d answers' first sentences not in their file's text)\n",
		r.Pairs, r.Docs, r.Chunks, r.Ingest.Round(time.Millisecond), Cutoff, r.Unfound)
	return err
}
