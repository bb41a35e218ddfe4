package server

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/cluster"
)

type statusResponse struct {
	Status string `json:"status"`
}

// handleHealthz answers while the process serves, for liveness probes.
func (s *Server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, statusResponse{"ok"})
}

// handleReadyz answers ok once the database answers, for readiness probes.
func (s *Server) handleReadyz(c echo.Context) error {
	if err := s.svc.Ping(c.Request().Context()); err != nil {
		return &ragd.Error{Kind: ragd.EUNAVAILABLE, Code: "database_unavailable", Message: "the database does not answer", Err: err}
	}
	if s.cfg.Cluster != nil {
		if err := s.cfg.Cluster.Ready(); err != nil {
			return &ragd.Error{Kind: ragd.EUNAVAILABLE, Code: "cluster_node_behind", Err: err,
				Message: "this node cannot apply the cluster's log any more (ops it lacks were trimmed while it was cut off); restart it to restore a snapshot"}
		}
	}
	return c.JSON(http.StatusOK, statusResponse{"ok"})
}

// providerCheck is a model provider reported by GET /v1/health.
type providerCheck struct {
	// Name and Type ("chat" or "embedding") identify the provider.
	Name, Type string
	// Check returns nil when the provider answers.
	Check func(ctx context.Context) error
}

// componentHealth is the state of the database or one provider.
type componentHealth struct {
	Name      string  `json:"name,omitempty"`
	Type      string  `json:"type,omitempty"`
	Status    string  `json:"status"`
	Error     string  `json:"error,omitempty"`
	LatencyMS float64 `json:"latency_ms"`
	Bytes     int64   `json:"bytes,omitempty"`
}

type healthResponse struct {
	Status    string            `json:"status"`
	Database  componentHealth   `json:"database"`
	Providers []componentHealth `json:"providers"`
	// Cluster is the cluster as this node sees it: each node's applied
	// position and lag; absent on a single node.
	Cluster *clusterHealth `json:"cluster,omitempty"`
}

// clusterHealth is the cluster part of GET /v1/health.
type clusterHealth struct {
	*cluster.Status
	State string `json:"status"`
	Error string `json:"error,omitempty"`
}

// healthTimeout bounds each check of GET /v1/health.
const healthTimeout = 3 * time.Second

// check runs fn with a timeout and reports its state.
func check(ctx context.Context, fn func(context.Context) error) componentHealth {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	start := time.Now()
	err := fn(ctx)
	h := componentHealth{Status: "ok", LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		h.Status, h.Error = "down", err.Error()
	}
	return h
}

func (s *Server) registerHealthRoutes(g *echo.Group) {
	g.GET("/health", s.handleHealth)
}

// handleHealth reports the database and every provider, checked at once;
// any of them down makes the status "degraded".
func (s *Server) handleHealth(c echo.Context) error {
	ctx := c.Request().Context()
	var checks []providerCheck
	for _, p := range s.svc.ChatModels().Providers() {
		checks = append(checks, providerCheck{Name: p.Name(), Type: "chat", Check: p.Ping})
	}
	for _, e := range s.svc.Embedders().List() {
		checks = append(checks, providerCheck{Name: e.Name(), Type: "embedding", Check: e.(pinger).Ping})
	}
	for _, r := range s.svc.Rerankers().List() {
		checks = append(checks, providerCheck{Name: r.Name(), Type: "rerank", Check: r.Ping})
	}
	resp := healthResponse{Status: "ok", Providers: make([]componentHealth, len(checks))}
	var wg sync.WaitGroup
	for i, pc := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := check(ctx, pc.Check)
			h.Name, h.Type = pc.Name, pc.Type
			resp.Providers[i] = h
		}()
	}
	resp.Database = check(ctx, s.svc.Ping)
	resp.Database.Bytes = s.svc.DatabaseBytes()
	if s.cfg.Cluster != nil {
		cctx, cancel := context.WithTimeout(ctx, healthTimeout)
		st, err := s.cfg.Cluster.Status(cctx)
		cancel()
		resp.Cluster = &clusterHealth{Status: st, State: "ok"}
		if err != nil {
			resp.Cluster.State, resp.Cluster.Error = "down", err.Error()
		}
	}
	wg.Wait()
	for _, h := range append(resp.Providers, resp.Database) {
		if h.Status != "ok" {
			resp.Status = "degraded"
		}
	}
	if resp.Cluster != nil && resp.Cluster.State != "ok" {
		resp.Status = "degraded"
	}
	return c.JSON(http.StatusOK, resp)
}
