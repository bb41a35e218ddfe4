package server

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/upstream"
	"github.com/ragd/ragd/webhook"
)

var saneRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// requestID sets x-request-id on every response: the client's own when it
// sent a sane one, else a new UUID. The request's context carries it to
// the model providers the request calls.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		id := r.Header.Get(echo.HeaderXRequestID)
		if !saneRequestID.MatchString(id) {
			id = uuid.NewString()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		c.SetRequest(r.WithContext(upstream.WithRequestID(r.Context(), id)))
		return next(c)
	}
}

// logRequests writes one structured line per request, and counts the
// request in the metrics and, once authenticated, in its workspace's usage
// and request logs. Nothing here writes to the database: usage and logs
// are flushed in batches.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		stats := statsOf(c)
		var body []byte
		var truncated bool
		if s.cfg.Ops.LogBodies {
			body, truncated = captureBody(c.Request())
		}
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		req, status, elapsed := c.Request(), c.Response().Status, time.Since(start)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		tokens := stats.tokens()
		reqID := c.Response().Header().Get(echo.HeaderXRequestID)
		s.metrics.observeRequest(req.Method, route, status, elapsed)
		attrs := []any{"request_id", reqID, "method", req.Method, "route", route, "status", status,
			"duration_ms", float64(elapsed.Microseconds()) / 1000, "bytes", c.Response().Size}
		if k, ok := c.Get(keyContextKey).(*ragd.Key); ok {
			attrs = append(attrs, "workspace", k.Workspace, "key_id", k.ID, "tokens", tokens.Total())
			s.recordUsage(k.Workspace, ragd.Month(start), req.Method+" "+route, 1, stats.models())
			l := ragd.RequestLog{Workspace: k.Workspace, KeyID: k.ID, RequestID: reqID, Method: req.Method, Endpoint: route,
				Path: req.URL.Path, Status: status, Duration: float64(elapsed.Microseconds()) / 1000, Tokens: int64(tokens.Total()), Time: start}
			if s.cfg.Ops.LogBodies && (body != nil || truncated) {
				b := loggedBody(body, req.Header.Get(echo.HeaderContentType), truncated)
				l.Body = &b
			}
			if !s.logs.add(l) {
				s.metrics.logsDropped.Inc()
			}
		}
		level := slog.LevelInfo
		if probeRoutes[route] {
			level = slog.LevelDebug
		}
		s.log.Log(req.Context(), level, "request", attrs...)
		return nil
	}
}

// probeRoutes are logged at debug level: orchestrators and scrapers call
// them every few seconds, which would bury the requests of clients.
var probeRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

const keyContextKey = "ragd.key"

// adminEnvKeyID is the key ID shown for requests made with RAGD_ADMIN_KEY.
const adminEnvKeyID = "key_admin_env"

// authenticate requires a valid bearer key and puts it in the context.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		secret, ok := strings.CutPrefix(h, "Bearer ")
		secret = strings.TrimSpace(secret)
		if !ok || secret == "" {
			return &ragd.Error{Kind: ragd.EUNAUTHORIZED, Code: "missing_api_key",
				Message: "send your API key in the Authorization header: 'Authorization: Bearer <key>'"}
		}
		var key *ragd.Key
		if s.cfg.AdminKey != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.AdminKey)) == 1 {
			key = &ragd.Key{ID: adminEnvKeyID, Name: "RAGD_ADMIN_KEY", Workspace: ragd.DefaultWorkspace, Admin: true}
		} else {
			k, err := s.svc.KeyBySecret(c.Request().Context(), secret)
			if err != nil {
				return err
			}
			key = k
		}
		c.Set(keyContextKey, key)
		return next(c)
	}
}

// keyOf returns the authenticated key of the request.
func keyOf(c echo.Context) *ragd.Key { return c.Get(keyContextKey).(*ragd.Key) }

// workspaceOf returns the workspace of the request's key.
func workspaceOf(c echo.Context) string { return keyOf(c).Workspace }

// requireAdmin lets only admin keys through.
func requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !keyOf(c).Admin {
			return &ragd.Error{Kind: ragd.EFORBIDDEN, Code: "admin_required", Message: "this route needs an admin API key"}
		}
		return next(c)
	}
}

// OpsConfig holds the operational settings: limits, logs, webhooks, CORS,
// TLS and health checks.
type OpsConfig struct {
	// DefaultTier limits keys whose rpm or tpm is 0; nil means the tier
	// named DefaultTier.
	DefaultTier *Tier
	// LogRetention is how long request logs are kept; 0 means
	// DefaultLogRetention.
	LogRetention time.Duration
	// LogBodies keeps request bodies, with secrets redacted, in request
	// logs.
	LogBodies bool
	// FlushInterval is how often usage and request logs are written to the
	// database; 0 means 2 s.
	FlushInterval time.Duration
	// CORSOrigins are the origins browsers may call the API from; empty
	// turns CORS off.
	CORSOrigins []string
	// TLSCertFile and TLSKeyFile, when both set, make the server speak
	// HTTPS.
	TLSCertFile, TLSKeyFile string
	// Webhooks tunes webhook delivery.
	Webhooks webhook.Options
	// MetricsAuth makes GET /metrics take an admin key like the admin
	// routes; without it, /metrics is open to anyone who can reach the
	// port (its series hold no workspace data, and invented methods and
	// paths cannot add series).
	MetricsAuth bool
	// Now is the clock of the rate limits; nil means time.Now. Tests
	// pass a fake clock to refill buckets without waiting.
	Now func() time.Time
}

// initOps sets up rate limits, usage, request logs, webhooks and metrics
// and their routes; New calls it before registering the resource routes.
func (s *Server) initOps(e *echo.Echo) {
	o := &s.cfg.Ops
	if o.DefaultTier == nil {
		t, _ := TierByName(DefaultTier)
		o.DefaultTier = &t
	}
	if o.LogRetention <= 0 {
		o.LogRetention = DefaultLogRetention
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 2 * time.Second
	}
	if o.Webhooks.Logger == nil {
		o.Webhooks.Logger = s.log
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s.limits = newRateLimiter(*o.DefaultTier, o.Now)
	if s.cfg.Cluster != nil {
		s.limits.share = s.cfg.Cluster.LiveNodes
	}
	s.usage = &usageRecorder{}
	s.logs = &logBuffer{}
	s.metrics = newMetrics(s.svc.DatabaseBytes, s.svc.VectorCacheStats)
	s.svc.Embedders().Wrap(s.metrics.timeEmbedder)
	s.svc.SetRerankers(s.metrics.instrumentRerankers(s.svc.Rerankers()))
	s.webhooks = webhook.New(s.svc, o.Webhooks)
	if len(o.CORSOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins: o.CORSOrigins,
			// No AllowHeaders: a preflight is answered with the headers it
			// asks for, as the OpenAI SDKs send their own (OpenAI-Beta,
			// X-Stainless-*) and their list grows; the key still decides.
			ExposeHeaders: []string{echo.HeaderXRequestID, "Retry-After", "X-RateLimit-Limit-Requests", "X-RateLimit-Limit-Tokens",
				"X-RateLimit-Remaining-Requests", "X-RateLimit-Remaining-Tokens", "X-RateLimit-Reset",
				"X-Storage-Used-Bytes", "X-Storage-Limit-Bytes", "Openai-Poll-After-Ms", creditsHeader},
			MaxAge: 600,
		}))
	}
	var metricsAuth []echo.MiddlewareFunc
	if o.MetricsAuth {
		metricsAuth = []echo.MiddlewareFunc{s.authenticate, requireAdmin}
	}
	e.GET("/metrics", echo.WrapHandler(s.metrics.Handler()), metricsAuth...)
	s.stopFlush, s.flushDone = make(chan struct{}), make(chan struct{})
}

// Start starts the server's background work: webhook delivery and the
// loop that writes usage and request logs. Open calls it; a caller
// serving Handler itself calls it once, and Close stops it.
func (s *Server) Start() {
	s.startOnce.Do(func() {
		s.webhooks.Start()
		go s.flushLoop()
	})
}

// registerOpsRoutes registers the usage, request log, webhook and health
// routes.
func (s *Server) registerOpsRoutes(g *echo.Group) {
	s.registerUsageRoutes(g)
	s.registerRequestLogRoutes(g)
	s.registerWebhookRoutes(g)
	s.registerHealthRoutes(g)
	s.registerClusterRoutes(g)
}

// flushLoop writes usage and request logs every FlushInterval, prunes
// old logs hourly and expires vector stores (expires_after) every minute,
// until closeOps.
func (s *Server) flushLoop() {
	defer close(s.flushDone)
	t := time.NewTicker(s.cfg.Ops.FlushInterval)
	defer t.Stop()
	var lastPrune, lastExpiry time.Time
	for {
		select {
		case <-s.stopFlush:
			return
		case <-t.C:
		}
		if err := s.flush(context.Background()); err != nil {
			s.log.Warn("flushing usage and request logs", "err", err)
		}
		if now := s.svc.Now(); now.Sub(lastPrune) > time.Hour {
			lastPrune = now
			if _, err := s.svc.PruneRequestLogs(context.Background(), lastPrune.Add(-s.cfg.Ops.LogRetention)); err != nil {
				s.log.Warn("pruning request logs", "err", err)
			}
		}
		if now := s.svc.Now(); now.Sub(lastExpiry) > time.Minute {
			lastExpiry = now
			if err := s.svc.ExpireVectorStores(context.Background()); err != nil {
				s.log.Warn("expiring vector stores", "err", err)
			}
		}
	}
}

// flush writes the pending usage and request logs; what fails to be
// written stays pending for the next flush.
func (s *Server) flush(ctx context.Context) error {
	// Readers of usage and logs hold flushMu too, so that what a flush
	// takes from memory is never missing from both memory and database.
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	u := s.usage.take()
	errU := s.svc.AddUsage(ctx, u)
	if errU != nil {
		s.usage.putBack(u)
	}
	l := s.logs.take()
	errL := s.svc.InsertRequestLogs(ctx, l)
	if errL != nil {
		s.logs.putBack(l)
	}
	return errors.Join(errU, errL)
}

// OnShutdown registers fn to run when the server closes, after in-flight
// requests have drained and before usage is flushed: the ingest pool
// finishes or parks its running batch there.
func (s *Server) OnShutdown(fn func(ctx context.Context) error) {
	s.shutdownHooks = append(s.shutdownHooks, fn)
}

// closeOps runs the shutdown hooks, stops webhook delivery and writes the
// last usage and request logs.
func (s *Server) closeOps(ctx context.Context) error {
	var errs []error
	for _, fn := range s.shutdownHooks {
		errs = append(errs, fn(ctx))
	}
	errs = append(errs, s.webhooks.Close(ctx))
	s.closeOnce.Do(func() {
		close(s.stopFlush)
		s.startOnce.Do(func() { close(s.flushDone) }) // never started
		<-s.flushDone
	})
	errs = append(errs, s.flush(context.WithoutCancel(ctx)))
	return errors.Join(errs...)
}

// tlsListener wraps ln in TLS when a certificate and key are configured.
func (s *Server) tlsListener(ln net.Listener) (net.Listener, error) {
	o := s.cfg.Ops
	if o.TLSCertFile == "" && o.TLSKeyFile == "" {
		return ln, nil
	}
	cert, err := tls.LoadX509KeyPair(o.TLSCertFile, o.TLSKeyFile)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"}}), nil
}
