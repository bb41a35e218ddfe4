package uselite

import (
	"context"
	"runtime"
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

// BenchmarkEmbedChunks embeds long chunks (128 pieces each), the shape of
// ingest, on all cores.
func BenchmarkEmbedChunks(b *testing.B) {
	m := model(b)
	chunk := longText(200)
	texts := make([]string, 64)
	for i := range texts {
		texts[i] = chunk
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Embed(context.Background(), texts); err != nil {
			b.Fatal(err)
		}
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(len(texts)*maxPieces*b.N)/s, "pieces/s")
	b.ReportMetric(float64(len(texts)*b.N)/s, "chunks/s")
}

// naiveApply is the textbook triple loop over the untransposed weights,
// the floor the tiled kernel is measured against.
func naiveApply(l *linear, dst, src []float32, rows int) {
	for i := 0; i < rows; i++ {
		for j := 0; j < l.out; j++ {
			var s float32
			for k := 0; k < l.in; k++ {
				s += src[i*l.in+k] * l.wt[j*l.in+k]
			}
			dst[i*l.out+j] = s + l.b[j]
		}
	}
}

// BenchmarkLinear compares the tiled kernel with the naive loop on the
// largest layer (512→1536, 256 rows) and reports GMAC/s.
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
		{"Tiled", func() { l.apply(dst, src, rows, epStore) }},
		{"Naive", func() { naiveApply(l, dst, src, rows) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				bc.run()
			}
			b.ReportMetric(float64(rows*l.in*l.out)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
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
