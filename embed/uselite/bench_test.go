package uselite

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
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
	for b.Loop() {
		if _, err := m.Embed(context.Background(), texts); err != nil {
			b.Fatal(err)
		}
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(pieces*b.N)/s, "pieces/s")
	b.ReportMetric(float64(len(texts)*b.N)/s, "sentences/s")
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
	for b.Loop() {
		if _, err := m.Embed(context.Background(), texts); err != nil {
			b.Fatal(err)
		}
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(len(texts)*maxPieces*b.N)/s, "pieces/s")
	b.ReportMetric(float64(len(texts)*b.N)/s, "chunks/s")
	b.ReportMetric(forwardFLOPs(maxPieces)*float64(len(texts)*b.N)/s/1e9, "GFLOP/s")
}

// BenchmarkEmbedChunks runs on all cores, BenchmarkEmbedChunksOneCore on
// one.
func BenchmarkEmbedChunks(b *testing.B)        { benchmarkChunks(b, runtime.NumCPU()) }
func BenchmarkEmbedChunksOneCore(b *testing.B) { benchmarkChunks(b, 1) }

// naiveApply is the textbook triple loop (reading the packed weights
// element by element) with apply's epilogues, the floor the blocked kernel
// is measured against.
func naiveApply(l *linear, dst, src []float32, rows, ep int) {
	for i := 0; i < rows; i++ {
		for j := 0; j < l.out; j++ {
			s := l.b[j]
			for k := 0; k < l.in; k++ {
				s += src[i*l.in+k] * l.wp[(j/tileCols*l.in+k)*tileCols+j%tileCols]
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
			for b.Loop() {
				bc.run()
			}
			b.ReportMetric(2*float64(rows*l.in*l.out)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkKernelPeak runs the gemm6x16 tile alone on data that stays in
// L1 (a 6×256 block of A, a 256×16 panel of B), on one core and on all
// cores at once: the ceiling the end-to-end GFLOP/s are measured against.
func BenchmarkKernelPeak(b *testing.B) {
	const k, kernelReps = 256, 4096
	for _, procs := range []int{1, runtime.NumCPU()} {
		b.Run(fmt.Sprintf("Cores%d", procs), func(b *testing.B) {
			var tiles atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range procs {
				wg.Go(func() {
					a := make([]float32, tileRows*k)
					w := make([]float32, k*tileCols)
					c := make([]float32, tileRows*tileCols)
					for i := range a {
						a[i] = float32(i%5) * 0.01
					}
					for i := range w {
						w[i] = float32(i%3) * 0.01
					}
					for range b.N {
						for range kernelReps {
							gemm6x16(a, k, w, tileCols, c, tileCols, k, tileRows, false)
						}
					}
					tiles.Add(int64(b.N) * kernelReps)
				})
			}
			wg.Wait()
			flops := 2 * float64(tileRows*tileCols*k) * float64(tiles.Load())
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
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
