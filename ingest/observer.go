package ingest

import (
	"context"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store"
)

// Observer hears how each file's ingest ended; the server turns that into
// webhook events, metrics and usage.
type Observer interface {
	// FileDone is called once per file that completed or failed, with
	// the workspace of its collection.
	FileDone(ctx context.Context, workspace string, f *ragd.File)
}

// Observe makes o hear about every file whose ingest ends from now on.
func (g *Ingester) Observe(o Observer) { g.observer.Store(&o) }

// notify tells the observer, if any, that f's ingest ended.
func (g *Ingester) notify(ctx context.Context, job *store.Job, f *ragd.File) {
	if o := g.observer.Load(); o != nil {
		(*o).FileDone(ctx, job.Workspace, f)
	}
}
