package store

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
	"unsafe"
)

// BenchmarkScanCodes measures the quantized scan alone (scanHits), on
// chunks built in memory without a database, so that a change to its
// kernels can be measured in seconds: RAGD_BENCH_SCAN random unit vectors
// of 384 dimensions (default 1,000,000) in chunks of sqlite-vec's 1,024
// slots, the codes alone and with the first pass, each query returning
// the 40 nearest a top_k of 10 rescores. It reports the p50 of 50 queries
// times b.N.
func BenchmarkScanCodes(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("RAGD_BENCH_SCAN"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatalf("RAGD_BENCH_SCAN: %v", err)
		}
	}
	const dims, size = 384, 1024
	r := rand.New(rand.NewPCG(1, 2))
	first, plain, _ := codedChunks(n, size, dims, func(int) []float32 { return randomUnit32(r, dims) }, false)
	queries := make([][]float32, 50)
	for i := range queries {
		queries[i] = randomUnit32(r, dims)
	}
	for _, tc := range []struct {
		name   string
		chunks []*vecChunk
	}{{"int8", plain}, {"first-pass+int8", first}} {
		b.Run(fmt.Sprintf("%dk/%s", n/1000, tc.name), func(b *testing.B) {
			var times []float64
			for range b.N {
				for _, q := range queries {
					start := time.Now()
					scanHits(tc.chunks, q, quantizedCandidates(10), nil)
					times = append(times, float64(time.Since(start).Microseconds())/1000)
				}
			}
			slices.Sort(times)
			b.ReportMetric(times[len(times)/2], "p50-ms")
		})
	}
}

// BenchmarkSetCodes measures what loading a quantized collection costs
// per vector beside reading it: a chunk of sqlite-vec's 1,024 random unit
// vectors of 384 dimensions made into int8 codes and 2-bit codes
// (setCodes), and, the floor, copied as floats (setVectors). A first
// search after a restart does this for every chunk of the collection.
func BenchmarkSetCodes(b *testing.B) {
	const dims, size = 384, 1024
	r := rand.New(rand.NewPCG(3, 4))
	var floats []float32
	for range size {
		floats = append(floats, randomUnit32(r, dims)...)
	}
	blob := unsafe.Slice((*byte)(unsafe.Pointer(&floats[0])), 4*len(floats))
	buf := make([]float32, len(floats))
	for _, tc := range []struct {
		name string
		load func(ch *vecChunk)
	}{
		{"codes", func(ch *vecChunk) { ch.setCodes(blob, dims, true) }},
		{"copy", func(ch *vecChunk) { ch.setVectors(blob, dims, buf) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ch := &vecChunk{used: size}
			for b.Loop() {
				tc.load(ch)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/vector")
		})
	}
}
