package uselite

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchTexts returns n texts from the golden corpus: real sentences of
// every kind, from single words to paragraphs clipped at 128 pieces.
func benchTexts(b *testing.B, n int) (texts []string, pieces int) {
	m := model(b)
	cases := loadGolden(b)
	for i := range n {
		t := cases[i%len(cases)].Text
		texts = append(texts, t)
		pieces += min(len(m.Tokenize(t)), maxPieces)
	}
	return texts, pieces
}

// benchmarkEmbed embeds 256 golden sentences per iteration on procs cores
// and reports pieces/s and sentences/s.
func benchmarkEmbed(b *testing.B, procs int) {
	m := model(b)
	texts, pieces := benchTexts(b, 256)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for b.Loop() {
		if _, err := m.Embed(context.Background(), texts); err != nil {
			b.Fatal(err)
		}
	}
	report(b, cpu, float64(pieces*b.N), "pieces")
	b.ReportMetric(float64(len(texts)*b.N)/b.Elapsed().Seconds(), "sentences/s")
}

// BenchmarkEmbed runs on all cores; BenchmarkEmbedOneCore is its peer in
// the same run and shows how the work scales across cores.
func BenchmarkEmbed(b *testing.B)        { benchmarkEmbed(b, runtime.NumCPU()) }
func BenchmarkEmbedOneCore(b *testing.B) { benchmarkEmbed(b, 1) }

// benchChunks returns n chunks of at least maxPieces pieces, each joined
// from consecutive golden sentences: the shape of ingest.
func benchChunks(b *testing.B, n int) []string {
	m := model(b)
	cases := loadGolden(b)
	chunks := make([]string, 0, n)
	for i := 0; len(chunks) < n; {
		var parts []string
		for pieces := 0; pieces < maxPieces; i++ {
			t := cases[i%len(cases)].Text
			parts = append(parts, t)
			pieces += len(m.Tokenize(t))
		}
		chunks = append(chunks, strings.Join(parts, " "))
	}
	return chunks
}

// benchmarkChunks embeds 64 chunks of 128 pieces per iteration on procs
// cores and reports pieces/s, chunks/s and the GFLOP/s of the matrix
// products (compare BenchmarkKernelPeak in the same run).
func benchmarkChunks(b *testing.B, procs int) {
	m := model(b)
	texts := benchChunks(b, 64)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	b.ResetTimer()
	cpu := cpuTime()
	for b.Loop() {
		if _, err := m.Embed(context.Background(), texts); err != nil {
			b.Fatal(err)
		}
	}
	chunks := float64(len(texts) * b.N)
	report(b, cpu, chunks*maxPieces, "pieces")
	report(b, cpu, chunks, "chunks")
	report(b, cpu, chunks*forwardFLOPs(maxPieces)/1e9, "GFLOP")
}

// BenchmarkEmbedChunks runs on all cores, BenchmarkEmbedChunksOneCore on
// one.
func BenchmarkEmbedChunks(b *testing.B)        { benchmarkChunks(b, runtime.NumCPU()) }
func BenchmarkEmbedChunksOneCore(b *testing.B) { benchmarkChunks(b, 1) }

// report reports work units per second of wall-clock time (unit/s) and,
// where the CPU time is known, per second of CPU time since cpu0
// (unit/CPU-s): on a machine shared with other processes the first falls
// with the load while the second does not.
func report(b *testing.B, cpu0 time.Duration, work float64, unit string) {
	b.ReportMetric(work/b.Elapsed().Seconds(), unit+"/s")
	if cpu := cpuTime() - cpu0; cpu0 > 0 && cpu > 0 {
		b.ReportMetric(work/cpu.Seconds(), unit+"/CPU-s")
	}
}

// naiveApply is the textbook triple loop (reading the packed weights
// element by element) with apply's epilogues, the floor the blocked kernel
// is measured against.
func naiveApply(l *linear, dst, src []float32, rows, ep int) {
	for i := 0; i < rows; i++ {
		for j := 0; j < l.out; j++ {
			s := l.b[j]
			for k := 0; k < l.in; k++ {
				s += src[i*l.in+k] * l.wp[(j/panelCols*l.in+k)*panelCols+j%panelCols]
			}
			switch ep {
			case epAdd:
				dst[i*l.out+j] += s
			case epReLU:
				dst[i*l.out+j] = max(s, 0)
			default:
				dst[i*l.out+j] = s
			}
		}
	}
}

// BenchmarkLinear compares the blocked kernel with the naive loop on the
// largest layer (512→1536, 256 rows) and reports GFLOP/s (2 per
// multiply-add).
func BenchmarkLinear(b *testing.B) {
	l := &model(b).layers[1].ffn1
	const rows = 256
	src := make([]float32, rows*l.in)
	for i := range src {
		src[i] = float32(i%7) - 3
	}
	dst := make([]float32, rows*l.out)
	for _, bc := range []struct {
		name string
		run  func()
	}{
		{"Blocked", func() { l.apply(dst, src, rows, epStore) }},
		{"Naive", func() { naiveApply(l, dst, src, rows, epStore) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cpu := cpuTime()
			for b.Loop() {
				bc.run()
			}
			report(b, cpu, 2*float64(rows*l.in*l.out)*float64(b.N)/1e9, "GFLOP")
		})
	}
}

// BenchmarkKernelPeak runs the 6×32 tile kernel alone on data that stays
// in L1 (a 6×256 block of A, two 256×16 panels of B), on one core and on
// all cores at once: the ceiling the end-to-end GFLOP/s are measured
// against.
func BenchmarkKernelPeak(b *testing.B) {
	const k, kernelReps = 256, 4096
	for _, procs := range []int{1, runtime.NumCPU()} {
		b.Run(fmt.Sprintf("Cores%d", procs), func(b *testing.B) {
			var tiles atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			cpu := cpuTime()
			for range procs {
				wg.Go(func() {
					a := make([]float32, tileRows*k)
					w := make([]float32, 2*k*panelCols)
					c := make([]float32, tileRows*tileCols)
					for i := range a {
						a[i] = float32(i%5) * 0.01
					}
					for i := range w {
						w[i] = float32(i%3) * 0.01
					}
					for range b.N {
						for range kernelReps {
							gemmTile(a, k, w, panelCols, k*panelCols, c, tileCols, k, tileRows, 0)
						}
					}
					tiles.Add(int64(b.N) * kernelReps)
				})
			}
			wg.Wait()
			report(b, cpu, 2*float64(tileRows*tileCols*k)*float64(tiles.Load())/1e9, "GFLOP")
		})
	}
}

// forwardFLOPs counts the floating-point operations (2 per multiply-add)
// of the matrix products forward runs for a sentence of n pieces: the
// per-piece projections, attention (scores and weighted sum, both n² per
// head), and the per-sentence last feed-forward projection and tanh layer.
func forwardFLOPs(n int) float64 {
	perPiece := embedDim*modelDim + embedDim*3*embedDim + embedDim*modelDim + 2*modelDim*ffnDim + // layer 0
		modelDim*3*modelDim + modelDim*modelDim + modelDim*ffnDim // layer 1 (ffn2 per sentence)
	attention := n * n * 2 * (embedDim + modelDim)
	perSentence := ffnDim*modelDim + modelDim*modelDim
	return 2 * float64(n*perPiece+attention+perSentence)
}

// BenchmarkTokenize measures the tokenizer alone on the golden corpus.
func BenchmarkTokenize(b *testing.B) {
	m := model(b)
	texts, pieces := benchTexts(b, 256)
	var sc tokScratch
	var ids []int32
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, t := range texts {
			ids = m.tok.encode(ids[:0], t, &sc)
		}
	}
	b.ReportMetric(float64(pieces*b.N)/b.Elapsed().Seconds(), "pieces/s")
}
