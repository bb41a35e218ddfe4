package eval

import (
	"math"
	"sort"

	"github.com/ragd/ragd/embed"
)

// BM25 parameters of the baseline (shared/eval/README.md).
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// BM25 is an in-memory Okapi BM25 index over a fixed set of documents,
// tokenised into lower-cased runs of letters and digits. Its idf is
// ln(1 + (N - df + 0.5) / (df + 0.5)), which is never negative.
type BM25 struct {
	docs   []map[string]int // term frequencies per document
	lens   []float64
	avgLen float64
	idf    map[string]float64
}

// NewBM25 indexes docs.
func NewBM25(docs []string) *BM25 {
	ix := &BM25{docs: make([]map[string]int, len(docs)), lens: make([]float64, len(docs)), idf: map[string]float64{}}
	df := map[string]int{}
	var total float64
	for i, d := range docs {
		words := embed.Words(d)
		tf := make(map[string]int, len(words))
		for _, w := range words {
			if tf[w] == 0 {
				df[w]++
			}
			tf[w]++
		}
		ix.docs[i], ix.lens[i] = tf, float64(len(words))
		total += float64(len(words))
	}
	if len(docs) > 0 {
		ix.avgLen = total / float64(len(docs))
	}
	n := float64(len(docs))
	for w, f := range df {
		ix.idf[w] = math.Log(1 + (n-float64(f)+0.5)/(float64(f)+0.5))
	}
	return ix
}

// Search returns the indexes of the k best documents for query, best
// first; documents sharing no term with the query are never returned and
// ties keep document order.
func (ix *BM25) Search(query string, k int) []int {
	scores := make([]float64, len(ix.docs))
	terms := embed.Words(query)
	for i, tf := range ix.docs {
		norm := bm25K1 * (1 - bm25B + bm25B*ix.lens[i]/ix.avgLen)
		for _, w := range terms {
			if f := float64(tf[w]); f > 0 {
				scores[i] += ix.idf[w] * f * (bm25K1 + 1) / (f + norm)
			}
		}
	}
	var hits []int
	for i, s := range scores {
		if s > 0 {
			hits = append(hits, i)
		}
	}
	sort.SliceStable(hits, func(a, b int) bool { return scores[hits[a]] > scores[hits[b]] })
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits
}

// BM25Ranks runs the BM25 baseline on pairs: all answers form the index
// and every question is a query. It returns the rank of each question's
// own answer (0 when not in the top Cutoff).
func BM25Ranks(pairs []Pair) []int { return BM25QueryRanks(pairs, Questions(pairs)) }

// BM25QueryRanks runs the BM25 baseline for queries over the answers of
// pairs and returns the rank of each query's relevant answer.
func BM25QueryRanks(pairs []Pair, queries []Query) []int {
	answers := make([]string, len(pairs))
	for i, p := range pairs {
		answers[i] = p.Answer
	}
	ix := NewBM25(answers)
	ranks := make([]int, len(queries))
	for i, q := range queries {
		ranks[i] = rankOf(ix.Search(q.Text, Cutoff), q.Pair)
	}
	return ranks
}

// Questions returns the pairs' own questions as queries.
func Questions(pairs []Pair) []Query {
	qs := make([]Query, len(pairs))
	for i, p := range pairs {
		qs[i] = Query{Text: p.Question, Pair: i}
	}
	return qs
}

// rankOf returns the 1-based position of want in got, or 0.
func rankOf(got []int, want int) int {
	for r, g := range got {
		if g == want {
			return r + 1
		}
	}
	return 0
}
