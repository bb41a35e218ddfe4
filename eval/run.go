package eval

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ragd/ragd"
)

// Modes are ragd's search modes, in the order of the table.
var Modes = []string{"vector", "keyword", "hybrid"}

// Config says which ragd to measure and how.
type Config struct {
	// BaseURL is ragd's address, e.g. "http://127.0.0.1:8080".
	BaseURL string
	// APIKey is a bearer key of the workspace the benchmark may create and
	// delete collections in.
	APIKey string
	// Models are the embedding models to measure; empty means every
	// embedding model ragd lists in GET /v1/models.
	Models []string
	// Modes are the search modes to measure; empty means Modes.
	Modes []string
	// Alphas are the weights of the vector ranking to measure hybrid
	// search with, each sent as the request's "alpha"; empty sends none,
	// so ragd uses its default.
	Alphas []float64
	// Set names the question/answer set in the collection names
	// ("eval-SET-MODEL-..."), e.g. "pyfaq"; empty leaves it out.
	Set string
	// HTTPClient sends the requests; nil means a client with a 2 minute
	// timeout per request.
	HTTPClient *http.Client
}

// Result is the quality of one model in one search mode.
type Result struct {
	Model, Mode string
	// Alpha is the "alpha" sent with each hybrid search; nil means none
	// was sent (and always for the other modes).
	Alpha *float64
	Metrics
	// Ingest is how long storing (chunking and embedding) all answers took.
	Ingest time.Duration
	// Search is the mean latency of one search request.
	Search time.Duration
}

// Report is the outcome of one benchmark run.
type Report struct {
	// Pairs is the number of question/answer pairs.
	Pairs int
	// BM25 is the baseline, computed in the same run.
	BM25 Metrics
	// Results has one entry per model and mode, in the order measured.
	Results []Result
}

// Run measures retrieval quality on pairs against the ragd at cfg.BaseURL:
// for each model it creates a collection, stores every answer as one item,
// searches every question with top_k 10 in each mode, scores where the
// question's own answer came (several chunks of one item count as one
// hit), and deletes the collection again.
func Run(ctx context.Context, cfg Config, pairs []Pair) (*Report, error) {
	if len(pairs) == 0 {
		return nil, ragd.Invalid("pairs", "no question/answer pairs to measure")
	}
	c := &client{base: strings.TrimRight(cfg.BaseURL, "/"), key: cfg.APIKey, http: cfg.HTTPClient}
	if c.http == nil {
		c.http = &http.Client{Timeout: 2 * time.Minute}
	}
	models, modes := cfg.Models, cfg.Modes
	if len(modes) == 0 {
		modes = Modes
	}
	if len(models) == 0 {
		var err error
		if models, err = c.embeddingModels(ctx); err != nil {
			return nil, err
		}
		if len(models) == 0 {
			return nil, ragd.Errorf(ragd.ENOTFOUND, "ragd at %s lists no embedding model", cfg.BaseURL)
		}
	}
	rep := &Report{Pairs: len(pairs), BM25: Score(BM25Ranks(pairs))}
	for _, model := range models {
		res, err := runModel(ctx, c, cfg, model, modes, pairs)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", model, err)
		}
		rep.Results = append(rep.Results, res...)
	}
	return rep, nil
}

// runModel measures one model in every mode, in a collection of its own.
func runModel(ctx context.Context, c *client, cfg Config, model string, modes []string, pairs []Pair) (_ []Result, err error) {
	name := fmt.Sprintf("eval-%s-%d", model, time.Now().UnixNano())
	if cfg.Set != "" {
		name = "eval-" + cfg.Set + name[len("eval"):]
	}
	coll, err := c.createCollection(ctx, name, model)
	if err != nil {
		return nil, err
	}
	defer func() {
		if derr := c.deleteCollection(context.WithoutCancel(ctx), coll); err == nil {
			err = derr
		}
	}()
	start := time.Now()
	ids, err := c.addAnswers(ctx, coll, pairs)
	if err != nil {
		return nil, err
	}
	ingest := time.Since(start)
	pairOf := make(map[string]int, len(ids))
	for i, id := range ids {
		pairOf[id] = i
	}
	var out []Result
	for _, mode := range modes {
		alphas := []*float64{nil}
		if mode == "hybrid" && len(cfg.Alphas) > 0 {
			alphas = alphas[:0]
			for i := range cfg.Alphas {
				alphas = append(alphas, &cfg.Alphas[i])
			}
		}
		for _, alpha := range alphas {
			ranks := make([]int, len(pairs))
			start := time.Now()
			for i, p := range pairs {
				hits, err := c.search(ctx, coll, p.Question, mode, alpha)
				if err != nil {
					return nil, err
				}
				ranks[i] = rankOf(distinctPairs(hits, pairOf), i)
			}
			out = append(out, Result{Model: model, Mode: mode, Alpha: alpha, Metrics: Score(ranks), Ingest: ingest,
				Search: time.Since(start) / time.Duration(len(pairs))})
		}
	}
	return out, nil
}

// distinctPairs maps search hits to pair indexes, best first, counting
// several chunks of one item once. A hit is mapped by its item id, or by
// the "pair" in its metadata; unknown hits are kept as -1 so that they
// still take up a rank.
func distinctPairs(hits []hit, pairOf map[string]int) []int {
	seen := map[string]bool{}
	var out []int
	for _, h := range hits {
		if seen[h.ItemID] {
			continue
		}
		seen[h.ItemID] = true
		p, ok := pairOf[h.ItemID]
		if !ok {
			p = -1
			if f, isNum := h.Metadata["pair"].(float64); isNum {
				p = int(f)
			}
		}
		out = append(out, p)
	}
	return out
}

// WriteTable prints the report as an aligned table: one row per model,
// mode and (for hybrid) alpha, then the BM25 baseline. The alpha column
// is "-" for the other modes and "default" where none was sent.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "model\tmode\talpha\tnDCG@10\tR@1\tR@10\tingest\tsearch/query\t\n")
	for _, res := range r.Results {
		alpha := "-"
		if res.Alpha != nil {
			alpha = fmt.Sprintf("%.2f", *res.Alpha)
		} else if res.Mode == "hybrid" {
			alpha = "default"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%.3f\t%.3f\t%s\t%s\t\n", res.Model, res.Mode, alpha, res.NDCG10, res.R1, res.R10,
			res.Ingest.Round(time.Millisecond), res.Search.Round(10*time.Microsecond))
	}
	fmt.Fprintf(tw, "BM25 (in-process baseline)\t-\t-\t%.3f\t%.3f\t%.3f\t-\t-\t\n", r.BM25.NDCG10, r.BM25.R1, r.BM25.R10)
	fmt.Fprintf(tw, "(%d questions, top_k %d)\t\t\t\t\t\t\t\t\n", r.Pairs, Cutoff)
	return tw.Flush()
}
