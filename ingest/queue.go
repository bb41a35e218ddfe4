package ingest

import (
	"context"
	"time"

	"github.com/ragd/ragd/store"
)

// Queue hands out the files to ingest and hears how each ingest ended.
// On one node it is the store's job queue (the default); a cluster's
// hands each file to one node and gives it to another when that node
// dies.
type Queue interface {
	// Recover prepares the queue at start-up, before any worker runs,
	// and returns how many interrupted jobs it queued again.
	Recover(ctx context.Context) (int, error)
	// Claim returns a job to run now, or nil when none is ready. With
	// idleOnly, only a job of a workspace with none running (see
	// Config.Workers).
	Claim(ctx context.Context, idleOnly bool) (*store.Job, error)
	// Requeue gives back a job cut short by a shutdown, to run again.
	Requeue(ctx context.Context, job *store.Job) error
	// Retry gives back a job that failed on something that may pass, to
	// run again no earlier than at.
	Retry(ctx context.Context, job *store.Job, at time.Time) error
	// Done says the job ended: its file was published, failed, or was
	// deleted.
	Done(ctx context.Context, job *store.Job)
}

// Blobs keeps uploaded files' bytes where every node can read them: a
// cluster's object store. Without it the bytes live only in Config.Dir.
type Blobs interface {
	// Put stores the bytes at path under name id.
	Put(ctx context.Context, id, path string) error
	// Get writes the bytes stored under id to path.
	Get(ctx context.Context, id, path string) error
	// Delete removes the bytes stored under ids; missing ones are no
	// error.
	Delete(ctx context.Context, ids []string) error
}

// storeQueue is the store's persistent job queue: one node's.
type storeQueue struct{ st *store.Store }

func (q storeQueue) Recover(ctx context.Context) (int, error) { return q.st.RequeueRunningJobs(ctx) }

func (q storeQueue) Claim(ctx context.Context, idleOnly bool) (*store.Job, error) {
	return q.st.ClaimJob(ctx, idleOnly)
}

func (q storeQueue) Requeue(ctx context.Context, job *store.Job) error {
	return q.st.RequeueJob(ctx, job.ID)
}

func (q storeQueue) Retry(ctx context.Context, job *store.Job, at time.Time) error {
	return q.st.RetryJob(ctx, job.ID, at)
}

func (storeQueue) Done(context.Context, *store.Job) {}
