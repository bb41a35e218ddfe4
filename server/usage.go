package server

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/service"
)

// TokenUse counts the tokens one request (or background job) used of one
// model.
type TokenUse struct {
	// Model names the model whose price applies; "" when the tokens are
	// not attributed to a model (they then cost no credits).
	Model string
	// Embedding counts tokens embedded (items, files, search queries,
	// /v1/embeddings).
	Embedding int
	// Prompt and Completion count chat model tokens.
	Prompt, Completion int
}

// Total returns all tokens used.
func (t TokenUse) Total() int { return t.Embedding + t.Prompt + t.Completion }

func (t *TokenUse) add(o TokenUse) {
	t.Embedding += o.Embedding
	t.Prompt += o.Prompt
	t.Completion += o.Completion
}

// requestStats is what a request reports about itself while it runs.
type requestStats struct {
	mu      sync.Mutex
	byModel map[string]TokenUse
}

// tokens returns the tokens of every model together.
func (r *requestStats) tokens() TokenUse {
	r.mu.Lock()
	defer r.mu.Unlock()
	var sum TokenUse
	for _, t := range r.byModel {
		sum.add(t)
	}
	return sum
}

// models returns the tokens by model; a model reported with no tokens is
// there too, since it was used.
func (r *requestStats) models() []TokenUse {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]TokenUse, 0, len(r.byModel))
	for _, t := range r.byModel {
		out = append(out, t)
	}
	return out
}

func (r *requestStats) add(t TokenUse) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byModel == nil {
		r.byModel = map[string]TokenUse{}
	}
	u := r.byModel[t.Model]
	u.Model = t.Model
	u.add(t)
	r.byModel[t.Model] = u
}

const statsContextKey = "ragd.stats"

// statsOf returns the stats of the request in c.
func statsOf(c echo.Context) *requestStats {
	if st, ok := c.Get(statsContextKey).(*requestStats); ok {
		return st
	}
	st := &requestStats{}
	c.Set(statsContextKey, st)
	return st
}

// AddTokens reports tokens the request in c used: they count against the
// key's tokens-per-minute limit and in its workspace's usage, and cost
// credits at their model's price. Every handler whose work uses tokens
// calls it with what the service returned; nothing is read back from
// response bodies.
func AddTokens(c echo.Context, t TokenUse) { statsOf(c).add(t) }

// embeddingUsage reports the tokens each model embedded (or read, for a
// rerank model) for the request in c and returns the OpenAI usage object
// that shows them all.
func embeddingUsage(c echo.Context, tokens service.Tokens) usage {
	addModelTokens(c, tokens)
	n := tokens.Total()
	return usage{PromptTokens: n, TotalTokens: n}
}

// addModelTokens reports the tokens each model embedded or read for the
// request in c.
func addModelTokens(c echo.Context, tokens service.Tokens) {
	for model, n := range tokens {
		AddTokens(c, TokenUse{Model: model, Embedding: n})
	}
}

// credits returns what t costs at its model's price: input tokens are the
// embedded and prompt tokens, output the completion tokens.
func (s *Server) credits(t TokenUse) float64 {
	if t.Model == "" {
		return 0
	}
	return s.cfg.Prices[t.Model].Credits(t.Embedding+t.Prompt, t.Completion)
}

// recordUsage counts one request of endpoint (or, with requests 0, work
// done without a request) in ws's usage: the endpoint's counter (model
// "") counts the request, and each model's counter the tokens and credits
// of that model.
func (s *Server) recordUsage(ws, month, endpoint string, requests int64, used []TokenUse) {
	key := ragd.UsageKey{Workspace: ws, Month: month, Endpoint: endpoint}
	s.usage.add(key, ragd.UsageCounts{Requests: requests})
	for _, t := range used {
		key.Model = t.Model
		c := ragd.UsageCounts{EmbeddingTokens: int64(t.Embedding), PromptTokens: int64(t.Prompt),
			CompletionTokens: int64(t.Completion), Credits: s.credits(t)}
		if t.Model != "" {
			c.Requests = requests
		}
		s.usage.add(key, c)
	}
}

// RecordUsage counts tokens that background work (such as ingesting a
// file) used for workspace under the given endpoint name, without a
// request.
func (s *Server) RecordUsage(workspace, endpoint string, t TokenUse) {
	s.recordUsage(workspace, ragd.Month(s.svc.Now()), endpoint, 0, []TokenUse{t})
}

// creditsHeader is seed 004's header of what a request cost.
const creditsHeader = "x-credits-used"

// meter sets x-credits-used on every response of an authenticated
// request: what its tokens and model requests cost, 0 when no model it
// used has a price. A streamed answer's cost is known only at its end, so
// a stream declares the header as a trailer and sends it after the body.
func (s *Server) meter(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		w := c.Response()
		w.Before(func() {
			if strings.HasPrefix(w.Header().Get(echo.HeaderContentType), "text/event-stream") {
				w.Header().Add("Trailer", creditsHeader)
				return
			}
			w.Header().Set(creditsHeader, s.requestCredits(c))
		})
		err := next(c)
		if w.Committed && w.Header().Get("Trailer") != "" {
			w.Header().Set(creditsHeader, s.requestCredits(c))
		}
		return err
	}
}

// requestCredits formats the cost of the request in c so far.
func (s *Server) requestCredits(c echo.Context) string {
	var sum float64
	for _, t := range statsOf(c).models() {
		sum += s.credits(t)
	}
	return strconv.FormatFloat(roundCredits(sum), 'f', -1, 64)
}

// roundCredits rounds to 1e-9 credit, so that float sums print as the
// decimals they stand for (0.67, not 0.6699999999999999).
func roundCredits(v float64) float64 { return math.Round(v*1e9) / 1e9 }

// usageRecorder aggregates usage in memory until the next flush.
type usageRecorder struct {
	mu      sync.Mutex
	pending map[ragd.UsageKey]ragd.UsageCounts
}

func (u *usageRecorder) add(k ragd.UsageKey, c ragd.UsageCounts) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.pending == nil {
		u.pending = map[ragd.UsageKey]ragd.UsageCounts{}
	}
	p := u.pending[k]
	p.Add(c)
	u.pending[k] = p
}

// take returns the pending counts and starts a new batch.
func (u *usageRecorder) take() map[ragd.UsageKey]ragd.UsageCounts {
	u.mu.Lock()
	defer u.mu.Unlock()
	p := u.pending
	u.pending = nil
	return p
}

// putBack returns a batch that could not be stored to the pending counts.
func (u *usageRecorder) putBack(batch map[ragd.UsageKey]ragd.UsageCounts) {
	for k, c := range batch {
		u.add(k, c)
	}
}

// pendingOf returns the unflushed counts of workspace ws in month.
func (u *usageRecorder) pendingOf(ws, month string) map[ragd.UsageKey]ragd.UsageCounts {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := map[ragd.UsageKey]ragd.UsageCounts{}
	for k, c := range u.pending {
		if k.Workspace == ws && k.Month == month {
			out[k] = c
		}
	}
	return out
}

func (s *Server) registerUsageRoutes(g *echo.Group) {
	g.GET("/usage", s.handleUsage)
	g.GET("/usage/daily", s.handleDailyUsage)
}

// monthUsage is the usage of one workspace in one month.
type monthUsage struct {
	Month string `json:"month"`
	ragd.UsageCounts
	TotalTokens int64                       `json:"total_tokens"`
	StoredBytes int64                       `json:"stored_bytes"`
	ByEndpoint  map[string]ragd.UsageCounts `json:"by_endpoint"`
	// ByModel counts, for each model, the requests that used it and
	// their tokens and credits of that model.
	ByModel map[string]ragd.UsageCounts `json:"by_model"`
}

type usageResponse struct {
	CurrentMonth  monthUsage `json:"current_month"`
	PreviousMonth monthUsage `json:"previous_month"`
}

// monthUsage sums the stored and unflushed usage of ws in month.
func (s *Server) monthUsage(c echo.Context, ws, month string, current bool) (monthUsage, error) {
	ctx := c.Request().Context()
	s.flushMu.RLock()
	defer s.flushMu.RUnlock()
	counters, err := s.svc.Usage(ctx, ws, month)
	if err != nil {
		return monthUsage{}, err
	}
	for k, p := range s.usage.pendingOf(ws, month) {
		e := counters[k]
		e.Add(p)
		counters[k] = e
	}
	m := monthUsage{Month: month, ByEndpoint: map[string]ragd.UsageCounts{}, ByModel: map[string]ragd.UsageCounts{}}
	for k, n := range counters {
		if k.Model != "" {
			bm := m.ByModel[k.Model]
			bm.Add(n)
			m.ByModel[k.Model] = bm
			// The endpoint's own counter counts its requests.
			n.Requests = 0
		}
		e := m.ByEndpoint[k.Endpoint]
		e.Add(n)
		m.ByEndpoint[k.Endpoint] = e
		m.UsageCounts.Add(n)
	}
	m.TotalTokens = m.EmbeddingTokens + m.PromptTokens + m.CompletionTokens
	m.Credits = roundCredits(m.Credits)
	for _, counts := range []map[string]ragd.UsageCounts{m.ByEndpoint, m.ByModel} {
		for k, n := range counts {
			n.Credits = roundCredits(n.Credits)
			counts[k] = n
		}
	}
	if current {
		m.StoredBytes, err = s.svc.StoredBytes(ctx, ws)
	} else {
		m.StoredBytes, err = s.svc.StoredBytesIn(ctx, ws, month)
	}
	return m, err
}

// handleUsage reports the workspace's usage this month and last month.
func (s *Server) handleUsage(c echo.Context) error {
	now := s.svc.Now().UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	ws := workspaceOf(c)
	cur, err := s.monthUsage(c, ws, ragd.Month(now), true)
	if err != nil {
		return err
	}
	prev, err := s.monthUsage(c, ws, ragd.Month(first.AddDate(0, -1, 0)), false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, usageResponse{CurrentMonth: cur, PreviousMonth: prev})
}

// maxUsageDays is the most days GET /v1/usage/daily reports.
const maxUsageDays = 31

type dailyUsageResponse struct {
	Days []ragd.DayUsage `json:"days"`
}

// handleDailyUsage reports the workspace's requests and their tokens per
// UTC day over the last ?days= days (1 to 31, default 7, today included),
// one entry per day, oldest first. They are counted from the request logs,
// so days past the log retention (--request-log-retention, 7 days by
// default) count nothing, and tokens of background work (ingest) are not
// in them: /v1/usage has the monthly totals.
func (s *Server) handleDailyUsage(c echo.Context) error {
	days := 7
	if v := c.QueryParam("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxUsageDays {
			return ragd.Invalid("days", "days must be a whole number from 1 to %d, got %q", maxUsageDays, v)
		}
		days = n
	}
	now := s.svc.Now().UTC()
	from := time.Date(now.Year(), now.Month(), now.Day()-days+1, 0, 0, 0, 0, time.UTC)
	// Pending logs are written first, as for /v1/request-logs, so that
	// today counts the requests just made.
	ctx := c.Request().Context()
	if err := s.flush(ctx); err != nil {
		return err
	}
	counted, err := s.svc.DailyUsage(ctx, workspaceOf(c), from, from.AddDate(0, 0, days))
	if err != nil {
		return err
	}
	byDay := map[string]ragd.DayUsage{}
	for _, d := range counted {
		byDay[d.Date] = d
	}
	resp := dailyUsageResponse{Days: make([]ragd.DayUsage, 0, days)}
	for i := range days {
		date := from.AddDate(0, 0, i).Format("2006-01-02")
		d, ok := byDay[date]
		if !ok {
			d = ragd.DayUsage{Date: date}
		}
		resp.Days = append(resp.Days, d)
	}
	return c.JSON(http.StatusOK, resp)
}
