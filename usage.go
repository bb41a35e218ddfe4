package ragd

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// UsageCounts are the counters of one workspace, month, endpoint and
// model.
type UsageCounts struct {
	Requests         int64 `json:"requests"`
	EmbeddingTokens  int64 `json:"embedding_tokens"`
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	// Credits is what the tokens and requests cost at the models' prices.
	Credits float64 `json:"credits"`
}

// Add adds o to u.
func (u *UsageCounts) Add(o UsageCounts) {
	u.Requests += o.Requests
	u.EmbeddingTokens += o.EmbeddingTokens
	u.PromptTokens += o.PromptTokens
	u.CompletionTokens += o.CompletionTokens
	u.Credits += o.Credits
}

// UsageKey names a usage counter: a workspace, a month ("2006-01", UTC),
// an endpoint ("POST /v1/vector_store/:id/search") and a model. The
// counter of model "" counts every request of the endpoint and the tokens
// no model is named for; the counter of a model counts the requests that
// used it, with their tokens and credits of that model.
type UsageKey struct {
	Workspace, Month, Endpoint, Model string
}

// Month returns the usage month of t: "2006-01" in UTC.
func Month(t time.Time) string { return t.UTC().Format("2006-01") }

// RequestLog is one logged request.
type RequestLog struct {
	ID        int64   `json:"id"`
	Workspace string  `json:"-"`
	KeyID     string  `json:"key_id"`
	RequestID string  `json:"request_id"`
	Method    string  `json:"method"`
	Endpoint  string  `json:"endpoint"`
	Path      string  `json:"path"`
	Status    int     `json:"status"`
	Duration  float64 `json:"duration_ms"`
	Tokens    int64   `json:"tokens"`
	// Time is when the request arrived.
	Time time.Time `json:"-"`
	// Body is the request body, only when body logging is enabled.
	Body *string `json:"body,omitempty"`
	// Node is the cluster node that served the request, empty on a
	// single node: each node keeps its own logs, and a cluster lists
	// them merged.
	Node string `json:"node,omitempty"`
}

// Cursor returns the cursor of a page of logs that ends at l, the
// response's last_id: the log's ID on a single node; in a cluster, where
// every node numbers its own logs, its time, ID and node
// ("<unix ms>.<id>.<node>"), the order of logs merged from all nodes.
func (l RequestLog) Cursor() string {
	if l.Node == "" {
		return strconv.FormatInt(l.ID, 10)
	}
	return fmt.Sprintf("%d.%d.%s", l.Time.UnixMilli(), l.ID, l.Node)
}

// ParseNodeCursor parses a cluster's log cursor (Cursor of a log with a
// Node); ok is false for any other string.
func ParseNodeCursor(after string) (ms, id int64, node string, ok bool) {
	parts := strings.SplitN(after, ".", 3)
	if len(parts) != 3 || parts[2] == "" {
		return 0, 0, "", false
	}
	ms, err1 := strconv.ParseInt(parts[0], 10, 64)
	id, err2 := strconv.ParseInt(parts[1], 10, 64)
	return ms, id, parts[2], err1 == nil && err2 == nil
}

// LogPosition is a place in one node's request logs, newest first: logs
// before it are older, or of the same millisecond with a lower ID.
type LogPosition struct {
	Time int64 // Unix milliseconds
	ID   int64
}

// RequestLogQuery selects request logs of one workspace.
type RequestLogQuery struct {
	Workspace string
	// From and To bound the request time: From <= t < To.
	From, To time.Time
	// Endpoint, when set, keeps requests whose route pattern or path is
	// Endpoint.
	Endpoint string
	// Page is the window wanted, newest first: Page.After is the ID (in
	// decimal) of the last log of the previous page.
	Page Page
	// Before, when set, keeps only the logs before it, in place of
	// Page.After: a cluster node lists its own logs after a cursor of
	// logs merged from all nodes this way.
	Before *LogPosition
}

// StoredCompletion is a chat completion as stored: its JSON record (the
// OpenAI completion with its sources) and the client's vote.
type StoredCompletion struct {
	ID      string
	Created int64
	Model   string
	Record  json.RawMessage
	// Vote is "up", "down" or "" when none was cast.
	Vote string
}

// DayUsage counts the logged requests of one workspace on one UTC day
// ("2006-01-02") and the tokens they used.
type DayUsage struct {
	Date     string `json:"date"`
	Requests int64  `json:"requests"`
	Tokens   int64  `json:"tokens"`
}
