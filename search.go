package ragd

import (
	"fmt"
	"strings"
)

// Search modes.
const (
	ModeHybrid  = "hybrid"
	ModeVector  = "vector"
	ModeKeyword = "keyword"
)

// Filter is a metadata condition: either a comparison (Key, Op, Value) or
// a conjunction (And) or disjunction (Or) of filters. Keys address item
// and file metadata plus the built-ins file_id, item_id and filename.
type Filter struct {
	Key   string    `json:"key,omitempty"`
	Op    string    `json:"op,omitempty"`
	Value any       `json:"value,omitempty"`
	And   []*Filter `json:"and,omitempty"`
	Or    []*Filter `json:"or,omitempty"`
}

// SearchQuery is a search of one collection.
type SearchQuery struct {
	// Text is the query text, used by keyword and hybrid search.
	Text string
	// Vector is the query embedding, used by vector and hybrid search.
	Vector []float32
	// Mode is one of ModeHybrid, ModeVector, ModeKeyword.
	Mode string
	// TopK is the number of results wanted.
	TopK int
	// PoolTopK, when set, is the top_k a hybrid search sizes the head of
	// each ranking it fuses by (4 x PoolTopK, at least 40, at least TopK);
	// 0 means TopK. A default rerank that reads more results than the
	// request asked for keeps the request's top_k here, so that its first
	// stage ranks and scores exactly as the same search without it.
	PoolTopK int
	// ScoreThreshold drops results scoring below it, when set.
	ScoreThreshold *float64
	// Filter restricts the searched chunks, when set.
	Filter *Filter
	// Alpha is the weight of the vector ranking in hybrid search, 0..1
	// (the keyword ranking weighs 1-Alpha); nil means DefaultAlpha.
	Alpha *float64
	// Exact asks for the exact nearest vectors even from a collection
	// large enough to be searched by its quantized codes (store: the
	// vector cache), at the cost of scanning its full vectors from disk.
	Exact bool
}

// DefaultAlpha is the weight of the vector ranking in hybrid search when a
// query does not set it. Swept over 0.2..0.6 with the default model
// (ragd-static) on both dev sets (ragd-eval -tasks retrieval -modes hybrid
// -alpha ...; docs/benchmarks.md), 0.4 has the best mean nDCG@10: Python
// FAQ 0.752, 0.763, 0.767, 0.768, 0.746 and Debian FAQ 0.615, 0.643,
// 0.645, 0.632, 0.627 at 0.2, 0.3, 0.4, 0.5, 0.6.
const DefaultAlpha = 0.4

// SearchResult is one matching chunk, with its item's identity. Score is
// the search's own (see Search); RerankScore, set only when a rerank
// model reordered the results, is that model's relevance score, which
// then decides the order.
type SearchResult struct {
	ID          string         `json:"id"`
	ItemID      string         `json:"item_id"`
	FileID      *string        `json:"file_id"`
	Filename    *string        `json:"filename"`
	Content     string         `json:"content,omitempty"`
	Description string         `json:"description"`
	Score       float64        `json:"score"`
	RerankScore *float64       `json:"rerank_score,omitempty"`
	Metadata    map[string]any `json:"metadata"`
	Created     int64          `json:"created"`
	Position    Position       `json:"position"`
}

// MaxTopK is the largest top_k a search accepts.
const MaxTopK = 100

// maxFilterDepth bounds the nesting of and/or filters.
const maxFilterDepth = 8

// Limits of a filter's width. SQLite refuses an expression nested 1000
// deep (an "or" of 999 terms compiles to one) and more than 32766 bound
// values; these keep a filter well inside both, so a wide filter is a 400
// that names the limit rather than an error of the database.
const (
	// MaxFilterTerms is the most comparisons in one filter, counting
	// those inside every "and" and "or".
	MaxFilterTerms = 100
	// MaxFilterValues is the most values in one filter, counting every
	// value of every "in" and "nin" list.
	MaxFilterValues = 10_000
)

// Validate checks q's mode, top_k, alpha and filter; it is the one place
// search input is checked, whichever route (search, RAG, the OpenAI
// faces) it came through. An empty Mode means ModeHybrid. It returns an
// EINVALID *Error naming the field at fault.
func (q *SearchQuery) Validate() error { return q.ValidateIn("") }

// ValidateIn is Validate for a query whose fields a request nests under
// prefix, such as "retrieval." in a RAG request: errors name
// "retrieval.top_k".
func (q *SearchQuery) ValidateIn(prefix string) error {
	switch q.Mode {
	case ModeHybrid, ModeVector, ModeKeyword, "":
	default:
		return Invalid(prefix+"mode", "unknown search mode %q; use hybrid, vector or keyword", q.Mode)
	}
	if q.TopK < 1 || q.TopK > MaxTopK {
		return Invalid(prefix+"top_k", "%stop_k must be between 1 and %d, got %d", prefix, MaxTopK, q.TopK)
	}
	if q.Alpha != nil && (*q.Alpha < 0 || *q.Alpha > 1) {
		return Invalid(prefix+"alpha", "%salpha (the weight of the vector ranking in hybrid search) must be between 0 and 1, got %v", prefix, *q.Alpha)
	}
	if q.Filter == nil {
		return nil
	}
	var w filterWidth
	return q.Filter.validate(prefix+"filter", 0, &w)
}

// filterWidth counts a filter's comparisons and values against
// MaxFilterTerms and MaxFilterValues.
type filterWidth struct{ terms, values int }

// validate checks f, found at param, nested depth deep.
func (f *Filter) validate(param string, depth int, w *filterWidth) error {
	if depth > maxFilterDepth {
		return Invalid(param, "filters nest deeper than %d levels", maxFilterDepth)
	}
	kinds := 0
	if f.Key != "" || f.Op != "" {
		kinds++
	}
	if f.And != nil {
		kinds++
	}
	if f.Or != nil {
		kinds++
	}
	if kinds != 1 {
		return Invalid(param, `a filter is either {"key", "op", "value"}, {"and": [...]} or {"or": [...]}`)
	}
	if f.And != nil || f.Or != nil {
		list, name := f.And, "and"
		if f.Or != nil {
			list, name = f.Or, "or"
		}
		if len(list) == 0 {
			return Invalid(param+"."+name, "%q needs at least one filter", name)
		}
		for i, sub := range list {
			if sub == nil {
				return Invalid(fmt.Sprintf("%s.%s[%d]", param, name, i), "a filter may not be null")
			}
			if err := sub.validate(fmt.Sprintf("%s.%s[%d]", param, name, i), depth+1, w); err != nil {
				return err
			}
		}
		return nil
	}
	return f.validateComparison(param, w)
}

func (f *Filter) validateComparison(param string, w *filterWidth) error {
	if w.terms++; w.terms > MaxFilterTerms {
		return Invalid("filter", "the filter has more than %d comparisons (counting those inside every and/or); match many values of one key with a single \"in\"", MaxFilterTerms)
	}
	if f.Key == "" {
		return Invalid(param+".key", "a filter needs a key")
	}
	if strings.ContainsAny(f.Key, "\"\\\x00") || len(f.Key) > 256 {
		return Invalid(param+".key", "filter key %q may not contain quotes or backslashes", f.Key)
	}
	switch f.Op {
	case "eq", "ne", "gt", "gte", "lt", "lte":
		if err := filterScalar(f.Value, param+".value"); err != nil {
			return err
		}
		if f.Value == nil && f.Op != "eq" && f.Op != "ne" {
			return Invalid(param+".value", "op %q needs a number or string value, not null", f.Op)
		}
		if f.Value != nil {
			w.values++
		}
	case "in", "nin":
		list, ok := f.Value.([]any)
		if !ok || len(list) == 0 {
			return Invalid(param+".value", "op %q needs a non-empty array value", f.Op)
		}
		if w.values += len(list); w.values > MaxFilterValues {
			return Invalid("filter", "the filter has more than %d values (counting every in and nin list); narrow it", MaxFilterValues)
		}
		for i, x := range list {
			if err := filterScalar(x, fmt.Sprintf("%s.value[%d]", param, i)); err != nil {
				return err
			}
		}
	case "":
		return Invalid(param+".op", "a filter needs an op: eq, ne, gt, gte, lt, lte, in or nin")
	default:
		return Invalid(param+".op", "unknown filter op %q; use eq, ne, gt, gte, lt, lte, in or nin", f.Op)
	}
	return nil
}

// filterScalar checks that v, a filter value decoded from JSON, is a
// string, number, boolean or null.
func filterScalar(v any, param string) error {
	switch v.(type) {
	case nil, string, float64, bool, int:
		return nil
	default:
		return Invalid(param, "filter values must be strings, numbers, booleans or null, not %T", v)
	}
}
