package store

import (
	"bufio"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ragd/ragd/embed/static"
)

// BenchmarkScanEmbeddings measures the recall@10 of the quantized scan,
// with and without the 2-bit first pass, against the exact scan, on real
// embeddings: the built-in ragd-static model's vectors of the lines of the
// Debian changelogs this machine has (/usr/share/doc/*/changelog.Debian.gz,
// lines of 40 to 300 bytes, each once), 1,000 of them as queries. A hit
// is a true top-10 neighbour among the 40 candidates a top_k of 10
// rescores exactly, so the recall is that of the search's results.
func BenchmarkScanEmbeddings(b *testing.B) {
	files, _ := filepath.Glob("/usr/share/doc/*/changelog.Debian.gz")
	var lines []string
	seen := map[string]bool{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		zr, err := gzip.NewReader(fh)
		if err == nil {
			sc := bufio.NewScanner(zr)
			for sc.Scan() {
				l := strings.TrimSpace(sc.Text())
				if len(l) >= 40 && len(l) <= 300 && !seen[l] {
					seen[l] = true
					lines = append(lines, l)
				}
			}
		}
		fh.Close()
	}
	if len(lines) < 20_000 {
		b.Fatalf("%d changelog lines; want 20,000 or more", len(lines))
	}
	m, err := static.New()
	if err != nil {
		b.Fatal(err)
	}
	vecs, err := m.Embed(context.Background(), lines)
	if err != nil {
		b.Fatal(err)
	}
	dims := len(vecs[0])
	queries, vecs := vecs[:1000], vecs[1000:]
	first, plain, exact := codedChunks(len(vecs), 1024, dims, func(i int) []float32 { return vecs[i] }, true)
	for range b.N {
		found := map[string]int{}
		for _, q := range queries {
			want := scanChunks(exact, q, 10, nil)
			ids := func(hs []hit) []int64 {
				var out []int64
				for _, h := range hs {
					out = append(out, h.id)
				}
				return out
			}
			for name, chunks := range map[string][]*vecChunk{"int8": plain, "2bit+int8": first} {
				// The 40 candidates a top_k of 10 rescores exactly.
				got := ids(scanHits(chunks, q, quantizedCandidates(10), nil))
				for _, w := range want {
					if slices.Contains(got, w.id) {
						found[name]++
					}
				}
			}
		}
		b.ReportMetric(float64(len(vecs)), "vectors")
		b.ReportMetric(float64(dims), "dims")
		for name, n := range found {
			b.ReportMetric(float64(n)/float64(10*len(queries)), "recall@10-"+name)
		}
	}
}
