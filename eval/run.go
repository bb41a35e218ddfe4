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

// HybridNoRerank is the pseudo-mode of a hybrid search that turns ragd's
// default rerank off ("rerank": {"model": "none"}): the first stage
// alone, to show what the rerank adds.
const HybridNoRerank = "hybrid-norerank"

// Modes are ragd's search modes and HybridNoRerank, in the order of
// the table.
var Modes = []string{"vector", "keyword", "hybrid", HybridNoRerank}

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
	// Paraphrases are searched in the same collection as the questions,
	// in every model and mode; none leaves the paraphrase rows out.
	Paraphrases []Query
	// HTTPClient sends the requests; nil means a client with a 2 minute
	// timeout per request.
	HTTPClient *http.Client
	// Progress, when set, is told what the run is doing (the command
	// prints it to stderr).
	Progress func(format string, args ...any)
}

// progress reports through cfg.Progress, if set.
func (cfg *Config) progress(format string, args ...any) {
	if cfg.Progress != nil {
		cfg.Progress(format, args...)
	}
}

// newClient returns the client of cfg's ragd.
func (cfg *Config) newClient() *client {
	c := &client{base: strings.TrimRight(cfg.BaseURL, "/"), key: cfg.APIKey, http: cfg.HTTPClient}
	if c.http == nil {
		c.http = &http.Client{Timeout: 2 * time.Minute}
	}
	return c
}

// collectionName names a new collection of the benchmark:
// "eval-SET-WHAT-NANOS", without SET when cfg.Set is empty.
func (cfg *Config) collectionName(what string) string {
	if cfg.Set == "" {
		return fmt.Sprintf("eval-%s-%d", what, time.Now().UnixNano())
	}
	return fmt.Sprintf("eval-%s-%s-%d", cfg.Set, what, time.Now().UnixNano())
}

// Result is the quality of one model in one search mode.
type Result struct {
	Model, Mode string
	// Alpha is the "alpha" sent with each hybrid search; nil means none
	// was sent (and always for the other modes).
	Alpha *float64
	Ranking
	// Paraphrase is the ranking of the paraphrased questions, nil without
	// Config.Paraphrases.
	Paraphrase *Ranking
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
	BM25 Ranking
	// ParaphraseBM25 is the baseline on the paraphrases, nil without
	// Config.Paraphrases.
	ParaphraseBM25 *Ranking
	// Results has one entry per model and mode, in the order measured.
	Results []Result
}

// Run measures retrieval quality on pairs against the ragd at cfg.BaseURL:
// for each model it creates a collection, stores every answer as one item,
// searches every question with top_k 10 in each mode, scores where the
// question's own answer came (several chunks of one item count as one
// hit), does the same for the paraphrases, and deletes the collection
// again.
func Run(ctx context.Context, cfg Config, pairs []Pair) (*Report, error) {
	if len(pairs) == 0 {
		return nil, ragd.Invalid("pairs", "no question/answer pairs to measure")
	}
	c := cfg.newClient()
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
	rep := &Report{Pairs: len(pairs), BM25: NewRanking(BM25Ranks(pairs))}
	if len(cfg.Paraphrases) > 0 {
		r := NewRanking(BM25QueryRanks(pairs, cfg.Paraphrases))
		rep.ParaphraseBM25 = &r
	}
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
	coll, err := c.createCollection(ctx, cfg.collectionName(model), model)
	if err != nil {
		return nil, err
	}
	defer func() {
		if derr := c.deleteCollection(context.WithoutCancel(ctx), coll.ID); err == nil {
			err = derr
		}
	}()
	start := time.Now()
	pairOf, err := c.addAnswers(ctx, coll.ID, pairs)
	if err != nil {
		return nil, err
	}
	ingest := time.Since(start)
	questions := Questions(pairs)
	var out []Result
	for _, mode := range modes {
		alphas := []*float64{nil}
		if (mode == "hybrid" || mode == HybridNoRerank) && len(cfg.Alphas) > 0 {
			alphas = alphas[:0]
			for i := range cfg.Alphas {
				alphas = append(alphas, &cfg.Alphas[i])
			}
		}
		for _, alpha := range alphas {
			cfg.progress("retrieval: %s, mode %s", model, mode)
			start := time.Now()
			ranks, err := searchRanks(ctx, c, coll.ID, mode, alpha, questions, pairOf)
			if err != nil {
				return nil, err
			}
			res := Result{Model: model, Mode: mode, Alpha: alpha, Ranking: NewRanking(ranks), Ingest: ingest,
				Search: time.Since(start) / time.Duration(len(pairs))}
			if len(cfg.Paraphrases) > 0 {
				ranks, err := searchRanks(ctx, c, coll.ID, mode, alpha, cfg.Paraphrases, pairOf)
				if err != nil {
					return nil, err
				}
				r := NewRanking(ranks)
				res.Paraphrase = &r
			}
			out = append(out, res)
		}
	}
	return out, nil
}

// searchRanks searches every query and returns the rank of its pair's
// answer.
func searchRanks(ctx context.Context, c *client, collection, mode string, alpha *float64, queries []Query, pairOf map[string]int) ([]int, error) {
	ranks := make([]int, len(queries))
	for i, q := range queries {
		hits, err := c.search(ctx, collection, q.Text, mode, alpha, false)
		if err != nil {
			return nil, err
		}
		ranks[i] = rankOf(distinctPairs(hits, pairOf), q.Pair)
	}
	return ranks, nil
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

// WriteTable prints the report as aligned tables: one row per model, mode
// and (for hybrid) alpha, then the BM25 baseline, each nDCG@10 with its
// bootstrap 95% interval and its ratio to BM25 with the paired interval;
// then the same for the paraphrases, if measured. The alpha column is "-"
// for the other modes and "default" where none was sent.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "model\tmode\talpha\t%s\tingest\tsearch/query\t\n", rankingHeader)
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", res.Model, res.Mode, res.alpha(), rankingCells(res.Ranking, r.BM25),
			res.Ingest.Round(time.Millisecond), res.Search.Round(10*time.Microsecond))
	}
	fmt.Fprintf(tw, "BM25 (in-process baseline)\t-\t-\t%s\t-\t-\t\n", rankingCells(r.BM25, r.BM25))
	fmt.Fprintf(tw, "(%d questions, top_k %d)\t\t\t\t\t\t\t\t\t\n", r.Pairs, Cutoff)
	if err := tw.Flush(); err != nil {
		return err
	}
	r.writeRerankGains(w, func(res Result) Ranking { return res.Ranking })
	if r.ParaphraseBM25 == nil {
		return nil
	}
	fmt.Fprintf(w, "\nParaphrased questions (no content word of the original; relevant: the original's answer)\n\n")
	fmt.Fprintf(tw, "model\tmode\talpha\t%s\t\n", rankingHeader)
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", res.Model, res.Mode, res.alpha(), rankingCells(*res.Paraphrase, *r.ParaphraseBM25))
	}
	fmt.Fprintf(tw, "BM25 (in-process baseline)\t-\t-\t%s\t\n", rankingCells(*r.ParaphraseBM25, *r.ParaphraseBM25))
	fmt.Fprintf(tw, "(%d paraphrases, top_k %d)\t\t\t\t\t\t\t\n", len(r.ParaphraseBM25.Ranks), Cutoff)
	if err := tw.Flush(); err != nil {
		return err
	}
	r.writeRerankGains(w, func(res Result) Ranking { return *res.Paraphrase })
	return nil
}

// writeRerankGains prints, for each model measured both in hybrid and in
// HybridNoRerank at ragd's default alpha, what the default rerank adds to
// the ranking of pick.
func (r *Report) writeRerankGains(w io.Writer, pick func(Result) Ranking) {
	plain := map[string]Ranking{}
	for _, res := range r.Results {
		if res.Mode == HybridNoRerank && res.Alpha == nil {
			plain[res.Model] = pick(res)
		}
	}
	for _, res := range r.Results {
		if p, ok := plain[res.Model]; ok && res.Mode == "hybrid" && res.Alpha == nil {
			writeRerankGain(w, res.Model, pick(res), p)
		}
	}
}

// writeRerankGain prints the difference of nDCG@10 between hybrid search
// with and without the default rerank, with its paired 95% interval.
func writeRerankGain(w io.Writer, model string, hybrid, plain Ranking) {
	fmt.Fprintf(w, "%s: the default rerank adds %+.3f nDCG@10 %s (hybrid - %s, paired)\n", model,
		hybrid.NDCG10-plain.NDCG10, DiffCI(hybrid.Gains(), plain.Gains()).format("%+.3f"), HybridNoRerank)
}

// alpha is the alpha column of the result's row.
func (res *Result) alpha() string {
	switch {
	case res.Alpha != nil:
		return fmt.Sprintf("%.2f", *res.Alpha)
	case res.Mode == "hybrid" || res.Mode == HybridNoRerank:
		return "default"
	default:
		return "-"
	}
}

// rankingHeader and rankingCells are the columns of a ranking in a table.
const rankingHeader = "nDCG@10\t95% CI\tx BM25\t95% CI\tR@1\tR@10"

// rankingCells are the columns of rankingHeader for r measured beside the
// baseline bm25 on the same questions.
func rankingCells(r, bm25 Ranking) string {
	g, b := r.Gains(), bm25.Gains()
	return fmt.Sprintf("%.3f\t%s\t%s\t%s\t%.3f\t%.3f", r.NDCG10, MeanCI(g).format("%.3f"),
		formatRatio(ratio(r.NDCG10, bm25.NDCG10)), RatioCI(g, b).format("%.2f"), r.R1, r.R10)
}

// format prints the interval as [lo, hi] with verb.
func (iv Interval) format(verb string) string {
	return "[" + fmt.Sprintf(verb, iv.Lo) + ", " + fmt.Sprintf(verb, iv.Hi) + "]"
}

// formatRatio prints a ratio to BM25 like "1.08x".
func formatRatio(x float64) string { return fmt.Sprintf("%.2fx", x) }
