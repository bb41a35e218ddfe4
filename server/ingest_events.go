package server

import (
	"context"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/webhook"
)

// FileDone implements the ingester's Observer: a finished ingest becomes a
// file.completed or file.failed webhook event, a job outcome metric and
// the workspace's embedding usage.
func (s *Server) FileDone(ctx context.Context, workspace string, f *ragd.File) {
	event, outcome := webhook.FileCompleted, "completed"
	if f.Status != ragd.FileCompleted {
		event, outcome = webhook.FileFailed, "failed"
	}
	s.metrics.IngestJobs.WithLabelValues(outcome).Inc()
	s.updateQueueDepth(ctx)
	if f.Tokens > 0 {
		// The tokens cost the price of the collection's model; a
		// collection deleted meanwhile leaves them unpriced.
		t := TokenUse{Embedding: f.Tokens}
		if col, err := s.svc.Collection(ctx, workspace, f.CollectionID); err == nil {
			t.Model = col.EmbeddingModel
		}
		s.RecordUsage(workspace, "ingest", t)
	}
	if err := s.Events().Publish(ctx, workspace, event, map[string]any{"file": f}); err != nil {
		s.log.Error("queueing a webhook event", "event", event, "file_id", f.ID, "err", err)
	}
}

// updateQueueDepth sets the ingest queue depth gauge from the database.
func (s *Server) updateQueueDepth(ctx context.Context) {
	n, err := s.svc.PendingJobs(ctx)
	if err != nil {
		s.log.Warn("counting pending ingest jobs", "err", err)
		return
	}
	s.metrics.IngestQueueDepth.Set(float64(n))
}
