package server

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
)

// TokenUse counts the tokens one request (or background job) used.
type TokenUse struct {
	// Embedding counts tokens embedded (items, files, search queries,
	// /v1/embeddings).
	Embedding int
	// Prompt and Completion count chat model tokens.
	Prompt, Completion int
}

// Total returns all tokens used.
func (t TokenUse) Total() int { return t.Embedding + t.Prompt + t.Completion }

// requestStats is what a request reports about itself while it runs.
type requestStats struct {
	mu  sync.Mutex
	use TokenUse
}

func (r *requestStats) tokens() TokenUse {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.use
}

func (r *requestStats) add(t TokenUse) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.use.Embedding += t.Embedding
	r.use.Prompt += t.Prompt
	r.use.Completion += t.Completion
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
// key's tokens-per-minute limit and in its workspace's usage. Every
// handler whose work uses tokens calls it with what the service returned;
// nothing is read back from response bodies.
func AddTokens(c echo.Context, t TokenUse) { statsOf(c).add(t) }

// embeddingUsage reports tokens embedded (or read by a rerank model) for
// the request in c and returns the OpenAI usage object that shows them.
func embeddingUsage(c echo.Context, tokens int) usage {
	AddTokens(c, TokenUse{Embedding: tokens})
	return usage{PromptTokens: tokens, TotalTokens: tokens}
}

// RecordUsage counts tokens that background work (such as ingesting a
// file) used for workspace under the given endpoint name, without a
// request.
func (s *Server) RecordUsage(workspace, endpoint string, t TokenUse) {
	s.usage.add(ragd.UsageKey{Workspace: workspace, Month: ragd.Month(s.svc.Now()), Endpoint: endpoint}, counts(0, t))
}

func counts(requests int64, t TokenUse) ragd.UsageCounts {
	return ragd.UsageCounts{Requests: requests, EmbeddingTokens: int64(t.Embedding),
		PromptTokens: int64(t.Prompt), CompletionTokens: int64(t.Completion)}
}

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
func (u *usageRecorder) pendingOf(ws, month string) map[string]ragd.UsageCounts {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := map[string]ragd.UsageCounts{}
	for k, c := range u.pending {
		if k.Workspace == ws && k.Month == month {
			out[k.Endpoint] = c
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
	byEndpoint, err := s.svc.Usage(ctx, ws, month)
	if err != nil {
		return monthUsage{}, err
	}
	for ep, p := range s.usage.pendingOf(ws, month) {
		e := byEndpoint[ep]
		e.Add(p)
		byEndpoint[ep] = e
	}
	m := monthUsage{Month: month, ByEndpoint: byEndpoint}
	for _, e := range byEndpoint {
		m.UsageCounts.Add(e)
	}
	m.TotalTokens = m.EmbeddingTokens + m.PromptTokens + m.CompletionTokens
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
