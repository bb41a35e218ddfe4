package server

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/cluster"
)

// Cluster is the cluster a node belongs to, as the server needs it.
type Cluster interface {
	// Status reports the cluster as this node sees it, for GET
	// /v1/health.
	Status(ctx context.Context) (*cluster.Status, error)
	// Sync waits until this node applied every op the replicated log
	// held when it was called; an EUNAVAILABLE error when the log cannot
	// be reached.
	Sync(ctx context.Context) error
	// LiveNodes returns how many nodes serve: each enforces that share of
	// a key's rate limits.
	LiveNodes() int
	// Ready returns why the node must not serve, or nil.
	Ready() error
	// Snapshot takes a snapshot of this node's store into the cluster
	// and trims the log below the oldest kept, returning its sequence.
	Snapshot(ctx context.Context) (uint64, error)
}

func (s *Server) registerClusterRoutes(g *echo.Group) {
	g.POST("/cluster/snapshot", s.handleClusterSnapshot, requireAdmin)
}

// handleClusterSnapshot takes a snapshot now, as the nodes do every
// --cluster-snapshot-every ops: before maintenance, or to let a new node
// join from a short log.
func (s *Server) handleClusterSnapshot(c echo.Context) error {
	if s.cfg.Cluster == nil {
		return &ragd.Error{Kind: ragd.ECONFLICT, Code: "not_a_cluster",
			Message: "this ragd is a single node, not part of a cluster (see ragd serve --cluster-listen); back it up with ragd backup"}
	}
	seq, err := s.cfg.Cluster.Snapshot(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"object": "cluster.snapshot", "seq": seq})
}

// syncCluster makes every request but a GET or HEAD first wait until this
// node applied the whole log (Cluster.Sync): a client behind a load
// balancer that created a collection on one node can add items to it, or
// search what it wrote, on any other. GETs read the local store as it
// is, within the node's replication lag.
func (s *Server) syncCluster(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.Cluster == nil {
			return next(c)
		}
		if m := c.Request().Method; m != http.MethodGet && m != http.MethodHead {
			if err := s.cfg.Cluster.Sync(c.Request().Context()); err != nil {
				return err
			}
		}
		return next(c)
	}
}
