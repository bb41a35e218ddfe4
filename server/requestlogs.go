package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/webhook"
)

// DefaultLogRetention is how long request logs are kept by default.
const DefaultLogRetention = 7 * 24 * time.Hour

// maxPendingLogs bounds the request logs held in memory between flushes;
// past it, new entries are dropped and counted in
// ragd_request_logs_dropped_total.
const maxPendingLogs = 100_000

// maxLoggedBody is the most bytes of a request body kept in its log.
const maxLoggedBody = 16 << 10

// logBuffer holds request logs until the next flush.
type logBuffer struct {
	mu      sync.Mutex
	pending []ragd.RequestLog
}

// add queues l and reports false when the buffer is full.
func (b *logBuffer) add(l ragd.RequestLog) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) >= maxPendingLogs {
		return false
	}
	b.pending = append(b.pending, l)
	return true
}

func (b *logBuffer) take() []ragd.RequestLog {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.pending
	b.pending = nil
	return p
}

// putBack returns a batch that could not be stored, ahead of newer logs.
func (b *logBuffer) putBack(batch []ragd.RequestLog) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = append(batch, b.pending...)
}

// secretFields are JSON fields whose values never reach a log.
var secretFields = []string{"secret", "api_key", "apikey", "password", "token", "authorization"}

// isSecretField reports whether a JSON key decodes into a secret field.
// encoding/json matches keys to fields under Unicode case folding, so
// "ſecret" (long s) or "toKen" (Kelvin sign) set the secret as well as
// "secret" does; strings.EqualFold folds the same way.
func isSecretField(key string) bool {
	for _, f := range secretFields {
		if strings.EqualFold(key, f) {
			return true
		}
	}
	return false
}

// keyPattern matches ragd key secrets and bearer tokens in free text.
var keyPattern = regexp.MustCompile(ragd.KeyPrefix + `[0-9a-z]{16,}|(?i)bearer\s+\S+`)

// redactJSON replaces the values of secret fields and the credentials of
// URLs, at any depth.
func redactJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if isSecretField(k) {
				x[k] = "[redacted]"
			} else {
				x[k] = redactJSON(e)
			}
		}
	case []any:
		for i, e := range x {
			x[i] = redactJSON(e)
		}
	case string:
		return webhook.RedactURL(x) // credentials in a URL, such as a webhook's
	}
	return v
}

// loggedBody returns what a request log keeps of a body: JSON with secret
// fields and key-like strings redacted, else only its size and type.
func loggedBody(body []byte, contentType string, truncated bool) string {
	var v any
	if !truncated && strings.HasPrefix(contentType, echo.MIMEApplicationJSON) && json.Unmarshal(body, &v) == nil {
		if out, err := json.Marshal(redactJSON(v)); err == nil {
			return keyPattern.ReplaceAllString(string(out), "[redacted]")
		}
	}
	if truncated {
		return "[body over " + strconv.Itoa(maxLoggedBody) + " bytes, not logged]"
	}
	return "[" + strconv.Itoa(len(body)) + " bytes of " + contentType + "]"
}

// captureBody reads up to maxLoggedBody bytes of the request body for its
// log and leaves the body readable for the handler.
func captureBody(r *http.Request) (data []byte, truncated bool) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, false
	}
	head, _ := io.ReadAll(io.LimitReader(r.Body, maxLoggedBody+1))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
	if len(head) > maxLoggedBody {
		return nil, true
	}
	return head, false
}

func (s *Server) registerRequestLogRoutes(g *echo.Group) {
	g.GET("/request-logs", s.handleRequestLogs)
	g.POST("/request-logs", s.handleRequestLogs)
}

// requestLogQuery is the query of GET (as URL parameters) and POST (as a
// JSON body) /v1/request-logs.
type requestLogQuery struct {
	Period    *int   `json:"period"`
	Timestamp string `json:"timestamp"`
	Endpoint  string `json:"endpoint"`
	Limit     *int   `json:"limit"`
	After     string `json:"after"`
}

// requestLogEntry is one request in the response.
type requestLogEntry struct {
	ragd.RequestLog
	Created   int64  `json:"created"`
	CreatedAt string `json:"created_at"`
}

type requestLogsResponse struct {
	Requests []requestLogEntry `json:"requests"`
	From     string            `json:"from"`
	To       string            `json:"to"`
	HasMore  bool              `json:"has_more"`
	// LastID is the id of the last request listed, in decimal: the
	// ?after= of the next page.
	LastID *string `json:"last_id"`
}

// readLogQuery reads the query from the URL (GET) or the body (POST).
func (s *Server) readLogQuery(c echo.Context) (requestLogQuery, error) {
	var q requestLogQuery
	if c.Request().Method == http.MethodPost {
		return q, decodeJSON(c, s.cfg.MaxBodyBytes, true, &q)
	}
	q.Timestamp, q.Endpoint, q.After = c.QueryParam("timestamp"), c.QueryParam("endpoint"), c.QueryParam("after")
	for _, p := range []struct {
		name string
		dst  **int
	}{{"period", &q.Period}, {"limit", &q.Limit}} {
		if v := c.QueryParam(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return q, ragd.Invalid(p.name, "%s must be a whole number, got %q", p.name, v)
			}
			*p.dst = &n
		}
	}
	return q, nil
}

// handleRequestLogs lists a page of the workspace's requests in the period
// (15, 30, 45 or 60 minutes) before timestamp (ISO 8601, default now),
// newest first.
func (s *Server) handleRequestLogs(c echo.Context) error {
	req, err := s.readLogQuery(c)
	if err != nil {
		return err
	}
	period := 15
	if req.Period != nil {
		period = *req.Period
	}
	if period != 15 && period != 30 && period != 45 && period != 60 {
		return ragd.Invalid("period", "period must be 15, 30, 45 or 60 (minutes), got %d", period)
	}
	to := s.svc.Now()
	if req.Timestamp != "" {
		if to, err = time.Parse(time.RFC3339, req.Timestamp); err != nil {
			return ragd.Invalid("timestamp", "timestamp must be UTC ISO 8601 such as 2024-01-01T12:00:00Z, got %q", req.Timestamp)
		}
	}
	p, err := pageOf(req.Limit, req.After)
	if err != nil {
		return err
	}
	q := ragd.RequestLogQuery{Workspace: workspaceOf(c), From: to.Add(-time.Duration(period) * time.Minute), To: to,
		Endpoint: req.Endpoint, Page: p}
	// Pending logs are written first: then every log listed has its id,
	// and pages are cut in the database alone.
	ctx := c.Request().Context()
	if err := s.flush(ctx); err != nil {
		return err
	}
	logs, more, err := s.svc.RequestLogs(ctx, q)
	if err != nil {
		return err
	}
	resp := requestLogsResponse{Requests: []requestLogEntry{}, From: q.From.UTC().Format(time.RFC3339), To: q.To.UTC().Format(time.RFC3339),
		HasMore: more}
	for _, l := range logs {
		resp.Requests = append(resp.Requests, requestLogEntry{RequestLog: l, Created: l.Time.Unix(), CreatedAt: l.Time.UTC().Format(time.RFC3339Nano)})
	}
	if len(logs) > 0 {
		last := logs[len(logs)-1].Cursor()
		resp.LastID = &last
	}
	return c.JSON(http.StatusOK, resp)
}
