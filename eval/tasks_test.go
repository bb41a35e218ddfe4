package eval

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store/storetest"
)

// startRagd serves a real ragd (store, file ingester, the built-in hash
// model and ragd-extractive) on 127.0.0.1 and returns a Config for it.
func startRagd(t *testing.T) Config {
	t.Helper()
	dir := t.TempDir()
	st := storetest.MustOpenIn(t, dir)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := embed.NewRegistry(embed.HashModelName, embed.NewHash(embed.HashDimensions))
	ing, err := ingest.New(st, reg, ingest.Config{Dir: filepath.Join(dir, "files"), Workers: 1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(server.New(service.New(service.Config{Store: st, Embedders: reg, Ingester: ing}), server.Config{MaxBodyBytes: 1 << 20, Logger: log}).Handler())
	if err := ing.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := ing.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	k := &ragd.Key{Name: "eval", Workspace: "default", Admin: true}
	if err := service.New(service.Config{Store: st}).CreateKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return Config{BaseURL: ts.URL, APIKey: k.Secret, Set: "sample"}
}

// sampleDocs returns the two sample documents, one per set's format, and
// their deduplicated pairs.
func sampleDocs(t *testing.T) ([]Doc, []Pair) {
	t.Helper()
	rst, err := os.ReadFile("testdata/faq/sample.rst.txt")
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile("testdata/debfaq/sample.en.html")
	if err != nil {
		t.Fatal(err)
	}
	text, err := DocBookText(string(page))
	if err != nil {
		t.Fatal(err)
	}
	docs := []Doc{{Name: "faq/sample.rst.txt", Data: rst, Text: string(rst)}, {Name: "FAQ/sample.en.html", Data: page, Text: text}}
	html, err := ParseDocBookFAQ(string(page), docs[1].Name)
	if err != nil {
		t.Fatal(err)
	}
	return docs, Dedupe(append(ParseFAQ(string(rst), docs[0].Name), html...))
}

// TestTasks runs every task against a real ragd through its HTTP API.
func TestTasks(t *testing.T) {
	cfg := startRagd(t)
	ctx := context.Background()
	docs, pairs := sampleDocs(t)

	t.Run("Paraphrases", func(t *testing.T) {
		cfg := cfg
		cfg.Paraphrases = []Query{
			{"rust shine", 1},      // words of one answer only
			{"zebra crossing", 0},  // words of no answer
			{"workshops world", 2}, // words of one answer only
		}
		rep, err := Run(ctx, cfg, pairs)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Results) != len(Modes) || rep.ParaphraseBM25 == nil {
			t.Fatalf("report %+v", rep)
		}
		for _, res := range rep.Results {
			if res.Model != embed.HashModelName || len(res.Ranks) != len(pairs) || res.Paraphrase == nil || len(res.Paraphrase.Ranks) != len(cfg.Paraphrases) {
				t.Fatalf("%s row %+v", res.Mode, res)
			}
			if res.Mode == "keyword" {
				if got := res.Paraphrase.Ranks; got[0] != 1 || got[1] != 0 || got[2] != 1 {
					t.Errorf("keyword ranks of the paraphrases %v, want [1 0 1]", got)
				}
			}
		}
		if got := rep.ParaphraseBM25.Ranks; got[0] != 1 || got[1] != 0 || got[2] != 1 {
			t.Errorf("BM25 ranks of the paraphrases %v, want [1 0 1]", got)
		}
	})

	t.Run("Documents", func(t *testing.T) {
		rep, err := RunDocuments(ctx, cfg, docs, pairs)
		if err != nil {
			t.Fatal(err)
		}
		// The two small documents are cut at their sections (6 chunks;
		// the harness's BM25 windows are one a document), and every
		// answer's first sentence is found in a chunk, through ragd's own
		// text of the rST and the HTML.
		if rep.Model != embed.HashModelName || rep.Docs != 2 || rep.Chunks != 6 || rep.Windows != 2 || rep.Unfound != 0 || len(rep.Results) != len(Modes) {
			t.Fatalf("report %+v", rep)
		}
		for _, r := range append(rep.Results, DocResult{"BM25", rep.BM25}) {
			if len(r.Ranks) != len(pairs) || r.R10 != 1 {
				t.Errorf("%s: ranks %v, want every answer found", r.Mode, r.Ranks)
			}
		}
		var buf strings.Builder
		if err := rep.WriteTable(&buf); err != nil || !strings.Contains(buf.String(), "BM25 over 2 windows") ||
			!strings.Contains(buf.String(), "hash: the default rerank adds +0.000 nDCG@10") {
			t.Errorf("table %v:\n%s", err, buf.String())
		}
	})

	t.Run("Answers", func(t *testing.T) {
		rep, err := RunAnswers(ctx, cfg, pairs)
		if err != nil {
			t.Fatal(err)
		}
		n := len(rep.Answer.Recall)
		if n != len(pairs) || len(rep.Baseline.Precision) != n || rep.Model != embed.HashModelName || rep.Cited+rep.Uncited > n || rep.Cited == 0 {
			t.Fatalf("report %+v", rep)
		}
		// Where the top source is the question's own answer, the
		// baseline quotes only gold words.
		if m := slices.Max(rep.Baseline.Precision); m != 1 {
			t.Errorf("baseline precision %v, want 1 for a question retrieving its own answer", rep.Baseline.Precision)
		}
		var buf strings.Builder
		if err := rep.WriteTable(&buf); err != nil || !strings.Contains(buf.String(), "citations correct") {
			t.Errorf("table %v:\n%s", err, buf.String())
		}
	})
}
