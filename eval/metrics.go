package eval

import "math"

// Cutoff is the depth of every ranking: each question is searched with
// top_k 10 and nDCG and recall are measured at 10.
const Cutoff = 10

// Metrics are the averages over all questions of one run.
type Metrics struct {
	// NDCG10 is nDCG@10 with one relevant document: 1/log2(rank+1) when the
	// answer is at rank <= 10, else 0.
	NDCG10 float64
	// R1 is the share of questions whose answer is ranked first.
	R1 float64
	// R10 is the share of questions whose answer is in the first ten.
	R10 float64
	// Questions is how many questions were averaged.
	Questions int
}

// Score averages the metrics over ranks, one per question: the 1-based
// rank of the question's answer, or 0 when it was not retrieved.
func Score(ranks []int) Metrics {
	m := Metrics{Questions: len(ranks)}
	if len(ranks) == 0 {
		return m
	}
	for _, r := range ranks {
		if r < 1 || r > Cutoff {
			continue
		}
		m.NDCG10 += gain(r)
		m.R10++
		if r == 1 {
			m.R1++
		}
	}
	n := float64(len(ranks))
	m.NDCG10 /= n
	m.R1 /= n
	m.R10 /= n
	return m
}

// gain is one question's nDCG@10: 1/log2(rank+1) for a rank in 1..10.
func gain(rank int) float64 {
	if rank < 1 || rank > Cutoff {
		return 0
	}
	return 1 / math.Log2(float64(rank)+1)
}

// Ranking is where each question's answer came in one run, with the
// averages; the per-question ranks give the confidence intervals.
type Ranking struct {
	Metrics
	// Ranks holds each question's rank, as Score takes them.
	Ranks []int
}

// NewRanking scores ranks.
func NewRanking(ranks []int) Ranking { return Ranking{Score(ranks), ranks} }

// Gains returns each question's nDCG@10.
func (r Ranking) Gains() []float64 {
	g := make([]float64, len(r.Ranks))
	for i, rank := range r.Ranks {
		g[i] = gain(rank)
	}
	return g
}
