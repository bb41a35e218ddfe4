package rerank_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/rerank"
)

func intp(n int) *int { return &n }

func TestOptionsValidate(t *testing.T) {
	cases := []struct {
		name          string
		opts          rerank.Options
		topK          int
		n, candidates int    // filled in when valid
		param         string // the field named when invalid
	}{
		{"Defaults", rerank.Options{Model: "m"}, 10, 10, rerank.DefaultCandidates, ""},
		{"TopNSet", rerank.Options{Model: "m", TopN: intp(3)}, 10, 3, rerank.DefaultCandidates, ""},
		{"TopKAboveDefaultPool", rerank.Options{Model: "m"}, 80, 80, 80, ""},
		{"CandidatesSet", rerank.Options{Model: "m", TopN: intp(5), Candidates: intp(20)}, 10, 5, 20, ""},
		{"CandidatesEqualTopN", rerank.Options{Model: "m", TopN: intp(5), Candidates: intp(5)}, 10, 5, 5, ""},
		{"CandidatesAtMax", rerank.Options{Model: "m", Candidates: intp(100)}, 10, 10, 100, ""},
		{"ErrModelRequired", rerank.Options{Model: " "}, 10, 0, 0, "rerank.model"},
		{"ErrTopNZero", rerank.Options{Model: "m", TopN: intp(0)}, 10, 0, 0, "rerank.top_n"},
		{"ErrTopNAboveMax", rerank.Options{Model: "m", TopN: intp(101)}, 10, 0, 0, "rerank.top_n"},
		{"ErrCandidatesBelowTopN", rerank.Options{Model: "m", TopN: intp(5), Candidates: intp(4)}, 10, 0, 0, "rerank.candidates"},
		{"ErrCandidatesAboveMax", rerank.Options{Model: "m", Candidates: intp(101)}, 10, 0, 0, "rerank.candidates"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := c.opts
			err := o.Validate("rerank", c.topK, 100)
			if c.param != "" {
				e := wantKind(t, err, ragd.EINVALID)
				if e.Param != c.param || !strings.Contains(e.Message, c.param) {
					t.Errorf("param %q message %q, want both to name %s", e.Param, e.Message, c.param)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *o.TopN != c.n || *o.Candidates != c.candidates {
				t.Errorf("top_n %d candidates %d, want %d and %d", *o.TopN, *o.Candidates, c.n, c.candidates)
			}
		})
	}
}

// named is a reranker that only has a name.
type named string

func (n named) Name() string { return string(n) }
func (n named) Rerank(context.Context, string, []string) ([]float64, error) {
	return nil, nil
}
func (n named) Ping(context.Context) error { return nil }

func TestRegistryGet(t *testing.T) {
	reg := rerank.NewRegistry(named("b-model"), named("a-model"))
	if r, err := reg.Get("model", "b-model"); err != nil || r.Name() != "b-model" {
		t.Fatalf("Get(b-model) = %v, %v", r, err)
	}
	_, err := reg.Get("rerank.model", "missing")
	e := wantKind(t, err, ragd.ENOTFOUND)
	if e.Param != "rerank.model" || !strings.Contains(e.Message, `"missing"`) || !strings.Contains(e.Message, "available rerank models: a-model, b-model") {
		t.Errorf("param %q message %q", e.Param, e.Message)
	}
	_, err = rerank.NewRegistry().Get("model", "x")
	if e := wantKind(t, err, ragd.ENOTFOUND); !strings.Contains(e.Message, "none is configured") {
		t.Errorf("empty registry: %q", e.Message)
	}
	if l := reg.List(); len(l) != 2 || l[0].Name() != "a-model" {
		t.Errorf("List = %v", l)
	}
}
