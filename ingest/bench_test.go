package ingest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/extract"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// benchCorpora are the real documents ingested by BenchmarkIngest: the
// testdata PDFs, all testdata files, and the HTML library reference of
// python3.11-doc, which `make bench` installs.
var benchCorpora = []struct{ name, pattern string }{
	{"PDF", "../testdata/extract/pdf-*/input.pdf"},
	{"Testdata", "../testdata/extract/*/input.*"},
	{"PythonDocHTML", "/usr/share/doc/python3.11/html/library/*.html"},
}

// discard is an extract.Sink that keeps nothing.
type discard struct{}

func (discard) Segment(extract.Segment) error { return nil }
func (discard) Record(extract.Record) error   { return nil }

// BenchmarkIngest measures end-to-end ingest (upload to disk, extract,
// chunk, embed, stage, publish) of real files with one worker per CPU, with
// the built-in hash model (the cheapest embedder: the pipeline's own cost)
// and with the default model, and prints beside them extraction alone over
// the same files: the ceiling ingest cannot pass.
func BenchmarkIngest(b *testing.B) {
	builtin, err := embed.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	reg := embed.NewRegistry(embed.DefaultModelName, builtin...)
	models := []embed.Embedder{reg.Default()}
	if reg.Default().Name() != embed.HashModelName {
		hash, _ := reg.Get(embed.HashModelName)
		models = append([]embed.Embedder{hash}, models...)
	}
	for _, c := range benchCorpora {
		corpus, err := filepath.Glob(c.pattern)
		if err != nil {
			b.Fatal(err)
		}
		if len(corpus) == 0 {
			b.Logf("%s: no files match %s", c.name, c.pattern)
			continue
		}
		for _, emb := range models {
			b.Run(c.name+"/"+emb.Name(), func(b *testing.B) { benchmarkIngest(b, corpus, reg, emb) })
		}
	}
}

func benchmarkIngest(b *testing.B, corpus []string, reg *embed.Registry, emb embed.Embedder) {
	ctx := context.Background()
	var size int64
	for _, p := range corpus {
		st, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		size += st.Size()
	}
	start := time.Now()
	for _, p := range corpus {
		if _, err := extract.Extract(ctx, extract.Source{Path: p, Filename: filepath.Base(p)}, extract.Options{}, discard{}); err != nil {
			b.Fatal(p, err)
		}
	}
	parseOnly := time.Since(start)

	var stats ingest.Stats
	var wall time.Duration
	for b.Loop() {
		dir := b.TempDir()
		st, err := store.Open(filepath.Join(dir, store.FileName))
		if err != nil {
			b.Fatal(err)
		}
		g, err := ingest.New(st, reg,
			ingest.Config{Dir: filepath.Join(dir, "files"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		col := &ragd.Collection{Workspace: "bench", Name: "bench", EmbeddingModel: emb.Name(), Dimensions: emb.Dimensions(),
			Chunking: ragd.Chunking{MaxTokens: 512, OverlapTokens: 64}}
		if err := st.CreateCollection(ctx, storetest.StampCollection(col)); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := g.Start(ctx); err != nil {
			b.Fatal(err)
		}
		var ids []string
		for _, p := range corpus {
			f, err := os.Open(p)
			if err != nil {
				b.Fatal(err)
			}
			up, err := g.Receive(f)
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			file, _, err := g.Add(ctx, col.Workspace, col.ID, up, ingest.NewFile{Filename: filepath.Base(p), Chunking: col.Chunking})
			if err != nil {
				b.Fatal(p, err)
			}
			ids = append(ids, file.ID)
		}
		for _, id := range ids {
			f, err := g.Wait(ctx, col.Workspace, col.ID, id)
			if err != nil || f.Status != ragd.FileCompleted {
				b.Fatalf("%+v %v", f, err)
			}
		}
		wall += time.Since(start)
		stats = g.Stats()
		g.Close(ctx)
		st.Close()
	}
	sec := wall.Seconds() / float64(b.N)
	b.ReportMetric(float64(size)/1e6/sec, "MB/s")
	b.ReportMetric(float64(stats.Pages)/sec, "pages/s")
	b.ReportMetric(float64(stats.Chunks)/sec, "chunks/s")
	total := stats.Parse + stats.Chunk + stats.Embed + stats.Store
	share := func(d time.Duration) float64 { return 100 * d.Seconds() / total.Seconds() }
	b.ReportMetric(share(stats.Parse), "%parse")
	b.ReportMetric(share(stats.Chunk), "%chunk")
	b.ReportMetric(share(stats.Embed), "%embed")
	b.ReportMetric(share(stats.Store), "%store")
	b.Logf("%d files, %.1f MB, %d pages, %d chunks, %d workers: ingest %.2f MB/s; extraction alone (one goroutine) %.2f MB/s",
		len(corpus), float64(size)/1e6, stats.Pages, stats.Chunks, runtime.NumCPU(), float64(size)/1e6/sec, float64(size)/1e6/parseOnly.Seconds())
}

// BenchmarkPeakRSS ingests one generated 200 MB text file through a real
// ragd process and reports the process's peak resident set size (VmHWM,
// polled until it exits, so its shutdown counts too), next to the 300 MB
// budget. (The rusage of the exited child would count the test process's
// own memory, shared with the child until its exec.)
func BenchmarkPeakRSS(b *testing.B) {
	path := writeCorpus(b, b.TempDir(), 1, 200<<20)[0]
	for b.Loop() {
		p := startRagd(b, b.TempDir(), "--workers", "2", "--max-text-bytes", fmt.Sprint(256<<20))
		peak := make(chan float64, 1)
		go func() {
			status := fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid)
			var max float64
			for {
				data, err := os.ReadFile(status)
				if err != nil {
					peak <- max
					return
				}
				for _, line := range strings.Split(string(data), "\n") {
					if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
						var v float64
						fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(kb), " kB"), &v)
						max = math.Max(max, v/1024)
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		col := p.collection(b, "big")
		start := time.Now()
		f := p.upload(b, col, path, "?wait=true", 201)
		if f["status"] != "completed" {
			b.Fatalf("file %v", f)
		}
		elapsed := time.Since(start)
		p.kill(b, syscall.SIGTERM)
		mib := <-peak
		b.ReportMetric(mib, "peak-RSS-MiB")
		b.ReportMetric(200/elapsed.Seconds(), "MB/s")
		b.Logf("200 MB text file: %v chunks in %v, peak RSS %.0f MiB (budget 300 MiB)", f["chunks"], elapsed.Round(time.Millisecond), mib)
		if mib > 300 {
			b.Errorf("peak RSS %.0f MiB is over the 300 MiB budget", mib)
		}
	}
}

// BenchmarkFairness measures how long a 20-byte file of workspace B takes
// to complete while workspace A's backlog of large text files (three per
// worker, 4 MB each, real extraction, chunking and hash embedding) holds
// the workers, beside the time one of A's files takes: B's file must not
// wait for A's.
func BenchmarkFairness(b *testing.B) {
	workers := runtime.NumCPU()
	corpus := writeCorpus(b, b.TempDir(), 3*workers, 4<<20)[:3*workers]
	for b.Loop() {
		g, st := testIngester(b, ingest.Config{Workers: workers})
		colA := testCollection(b, st, "a", "backlog", embed.HashModelName)
		colB := testCollection(b, st, "b", "small", embed.HashModelName)
		start := time.Now()
		var backlog []*ragd.File
		for _, p := range corpus {
			data, err := os.ReadFile(p)
			if err != nil {
				b.Fatal(err)
			}
			backlog = append(backlog, addFile(b, g, colA, filepath.Base(p), data))
		}
		small := time.Now()
		f := waitFile(b, g, colB, addFile(b, g, colB, "small.txt", []byte("twenty bytes of text")))
		smallTook := time.Since(small)
		if f.Status != ragd.FileCompleted {
			b.Fatalf("b's file %+v", f)
		}
		first := waitFile(b, g, colA, backlog[0])
		firstTook := time.Since(start)
		for _, f := range backlog {
			waitFile(b, g, colA, f)
		}
		all := time.Since(start)
		if first.Status != ragd.FileCompleted {
			b.Fatalf("a's file %+v", first)
		}
		b.ReportMetric(float64(smallTook.Microseconds())/1000, "B-small-file-ms")
		b.ReportMetric(float64(firstTook.Microseconds())/1000, "A-first-file-ms")
		b.ReportMetric(all.Seconds(), "A-backlog-s")
		b.Logf("%d workers, A's backlog of %d files of 4 MB: B's 20-byte file completed in %v; A's first file in %v, all in %v",
			workers, len(backlog), smallTook.Round(time.Millisecond), firstTook.Round(time.Millisecond), all.Round(time.Millisecond))
	}
}
