package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest/extract"
	"github.com/ragd/ragd/internal/retry"
	"github.com/ragd/ragd/store"
)

// Writer is the part of the write seam (service.Writer) that ingest
// writes files through: recording an upload, staging and publishing what
// its ingest produced, failing it, deleting it. Each call carries the IDs
// and times it writes, decided here with the store's clock. *store.Store
// implements it; a cluster replicates it like every other write.
type Writer interface {
	CreateFile(ctx context.Context, ws, colID string, f *ragd.File) (*ragd.File, bool, error)
	StageChunks(ctx context.Context, job *store.Job, items []*store.StagedItem) error
	PublishFile(ctx context.Context, job *store.Job, pages int, texts []*store.StagedItem, at int64) (*ragd.File, error)
	FailJob(ctx context.Context, job *store.Job, fe ragd.FileError, at int64) error
	DeleteFile(ctx context.Context, ws, colID, fileID string, at int64) error
	// StartJob is a cluster's claim of a file's job (store.StartJob),
	// logged so that every node records it; one node claims through its
	// store's queue instead.
	StartJob(ctx context.Context, fileID string, attempts int, owner string, at int64) (*store.Job, error)
}

// Config holds an Ingester's settings; zero fields take defaults.
type Config struct {
	// Writer is the write seam the ingester's file writes go through
	// (default: the store). Give it the same value as service.Config's
	// Writer, so that every state change passes one seam.
	Writer Writer
	// Queue hands out the files to ingest (default: the store's job
	// queue).
	Queue Queue
	// Blobs, when set, keeps every uploaded file's bytes where all nodes
	// of a cluster read them; a node missing a file's bytes in Dir
	// fetches them from there.
	Blobs Blobs
	// Dir is where uploaded files' bytes are stored, one file per file ID.
	Dir string
	// Workers is how many files are ingested at once (default: the
	// number of CPUs). One more worker takes only files of workspaces
	// with none running, so that one workspace's backlog of long files
	// never holds up another workspace's first file.
	Workers int
	// MaxFileBytes is the upload size limit (default DefaultMaxFileBytes).
	MaxFileBytes int64
	// Limits bound each file's extraction (default extract.DefaultLimits).
	Limits extract.Limits
	// MemoryBudget bounds the memory of the files being ingested, all
	// workers together: each running file reserves an estimate of what it
	// needs (see fileMemory), and a worker waits until its file's
	// reservation fits (default DefaultMemoryBudget).
	MemoryBudget int64
	// FileTimeout bounds the whole ingest of one file: extraction,
	// chunking and embedding. Past it the file fails with code
	// "ingest_timeout" and its worker is free again (default
	// DefaultFileTimeout).
	FileTimeout time.Duration
	// Logger receives failures (default slog.Default()).
	Logger *slog.Logger
	// RetryBackoff is the nominal wait before a file whose ingest failed
	// on a transient error (a model provider down or timing out) is tried
	// again; it doubles with each attempt, up to 10 minutes, and each wait
	// is between half and all of it (retry.Backoff), so that the files one
	// outage failed together do not all come back together (default 30 s).
	RetryBackoff time.Duration
	// MaxAttempts is how many times such a file is tried before it is
	// marked failed (default 5).
	MaxAttempts int
}

// DefaultFileTimeout is the default FileTimeout: about twice what the
// default text limit (extract.DefaultLimits.MaxText) takes to embed with
// the slowest built-in model on one core.
const DefaultFileTimeout = 30 * time.Minute

// maxRetryBackoff caps the wait between attempts of a file.
const maxRetryBackoff = 10 * time.Minute

// retryDelay returns how long a job that failed transiently on its
// attempts-th try waits before it may run again, or false when it has had
// all its attempts.
func (g *Ingester) retryDelay(attempts int) (time.Duration, bool) {
	if attempts >= g.cfg.MaxAttempts {
		return 0, false
	}
	return retry.Backoff{Base: g.cfg.RetryBackoff, Max: maxRetryBackoff}.Delay(attempts), true
}

// pollInterval is how often idle workers look for jobs they were not told
// about (jobs queued by another process on the same database).
const pollInterval = 2 * time.Second

var (
	errDeleted  = errors.New("ingest: file deleted")
	errShutdown = errors.New("ingest: shutting down")
	errTimeout  = errors.New("ingest: file timeout")
)

// Ingester receives uploaded files and ingests them through a persistent
// job queue in the store, with a bounded pool of workers: extract, chunk,
// embed in batches, stage, then publish each file in one transaction.
type Ingester struct {
	store     *store.Store
	write     Writer
	queue     Queue
	embedders *embed.Registry
	cfg       Config
	log       *slog.Logger

	wake     chan struct{} // to the Workers regular workers
	wakeIdle chan struct{} // to the worker for idle workspaces
	busy     atomic.Int32  // regular workers claiming or running a job
	memory   *memoryBudget
	stopping chan struct{} // closed by Close: take no more jobs
	ctx      context.Context
	cancel   context.CancelCauseFunc // cancels running jobs, with errShutdown
	wg       sync.WaitGroup

	mu      sync.Mutex
	running map[string]context.CancelCauseFunc // by file ID
	changed chan struct{}                      // closed and replaced when a file's ingest ends

	stats    stageStats
	observer atomic.Pointer[Observer]
}

// New returns an Ingester over st; call Start to run its workers.
func New(st *store.Store, embedders *embed.Registry, cfg Config) (*Ingester, error) {
	if cfg.Dir == "" {
		return nil, errors.New("ingest: Config.Dir is required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
	}
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = DefaultMaxFileBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Writer == nil {
		cfg.Writer = st
	}
	if cfg.Queue == nil {
		cfg.Queue = storeQueue{st}
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 30 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.FileTimeout <= 0 {
		cfg.FileTimeout = DefaultFileTimeout
	}
	if cfg.MemoryBudget <= 0 {
		cfg.MemoryBudget = DefaultMemoryBudget
	}
	g := &Ingester{store: st, write: cfg.Writer, queue: cfg.Queue, embedders: embedders, cfg: cfg, log: cfg.Logger,
		wake: make(chan struct{}, cfg.Workers), wakeIdle: make(chan struct{}, 1), stopping: make(chan struct{}),
		running: map[string]context.CancelCauseFunc{}, changed: make(chan struct{}), memory: newMemoryBudget(cfg.MemoryBudget)}
	g.ctx, g.cancel = context.WithCancelCause(context.Background())
	if err := os.MkdirAll(g.tmpDir(), 0o700); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *Ingester) tmpDir() string { return filepath.Join(g.cfg.Dir, "tmp") }

// Start recovers from an unclean stop, then starts the workers: jobs left
// running are queued again with what they had staged removed, partial
// uploads and spools are deleted, and so are stored bytes of files the
// database does not know (an upload interrupted between its rename and its
// commit).
func (g *Ingester) Start(ctx context.Context) error {
	n, err := g.queue.Recover(ctx)
	if err != nil {
		return fmt.Errorf("ingest: requeue interrupted jobs: %w", err)
	}
	if n > 0 {
		g.log.Info("requeued interrupted ingest jobs", "jobs", n)
	}
	if err := g.sweep(ctx); err != nil {
		return fmt.Errorf("ingest: sweep %s: %w", g.cfg.Dir, err)
	}
	for range g.cfg.Workers {
		g.wg.Add(1)
		go g.worker(false, g.wake)
	}
	g.wg.Add(1)
	go g.worker(true, g.wakeIdle)
	return nil
}

func (g *Ingester) sweep(ctx context.Context) error {
	tmp, err := os.ReadDir(g.tmpDir())
	if err != nil {
		return err
	}
	for _, e := range tmp {
		os.Remove(filepath.Join(g.tmpDir(), e.Name()))
	}
	entries, err := os.ReadDir(g.cfg.Dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		ok, err := g.store.HasFile(ctx, e.Name())
		if err != nil {
			return err
		}
		if !ok {
			os.Remove(filepath.Join(g.cfg.Dir, e.Name()))
		}
	}
	return nil
}

// Close stops taking jobs and waits for the running ones to finish until
// ctx is done; then it cancels them, and each is queued again, with what
// it staged removed, to run after the next start.
func (g *Ingester) Close(ctx context.Context) error {
	close(g.stopping)
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		g.cancel(errShutdown)
		<-done
		return nil
	}
}

func (g *Ingester) wakeWorker() {
	for _, c := range []chan struct{}{g.wake, g.wakeIdle} {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// worker claims and runs jobs until the Ingester closes. The worker for
// idle workspaces (idleOnly) claims only jobs of workspaces with no
// running job, and only while every regular worker is busy: otherwise a
// regular worker takes the job, and one workspace never has more than
// Workers files running.
func (g *Ingester) worker(idleOnly bool, wake <-chan struct{}) {
	defer g.wg.Done()
	for {
		select {
		case <-g.stopping:
			return
		default:
		}
		var job *store.Job
		var err error
		switch {
		case !idleOnly:
			g.busy.Add(1)
			if job, err = g.queue.Claim(g.ctx, false); job == nil {
				g.busy.Add(-1)
			}
		case g.busy.Load() >= int32(g.cfg.Workers):
			job, err = g.queue.Claim(g.ctx, true)
		}
		if err != nil {
			g.log.Error("claiming an ingest job", "err", err)
		}
		if job == nil {
			select {
			case <-g.stopping:
				return
			case <-wake:
			case <-time.After(pollInterval):
			}
			continue
		}
		g.run(job)
		if !idleOnly {
			g.busy.Add(-1)
		}
	}
}

// run ingests one claimed job and records how it ended.
func (g *Ingester) run(job *store.Job) {
	ctx, cancel := context.WithCancelCause(g.ctx)
	defer cancel(nil)
	g.mu.Lock()
	g.running[job.File.ID] = cancel
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.running, job.File.ID)
		close(g.changed)
		g.changed = make(chan struct{})
		g.mu.Unlock()
	}()

	// The file's time budget starts once it has its memory.
	need := g.fileMemory(job.File.Bytes)
	err := g.memory.acquire(ctx, need)
	if err == nil {
		defer g.memory.release(need)
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, g.cfg.FileTimeout, errTimeout)
		defer stop()
		err = g.ingest(ctx, job)
	}
	// Record the outcome even when ctx is cancelled.
	bg := context.WithoutCancel(ctx)
	if err == nil {
		g.queue.Done(bg, job)
		return
	}
	var re *ragd.Error
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errTimeout):
		g.fail(bg, job, ragd.FileError{Code: "ingest_timeout", Message: fmt.Sprintf("ingesting this file (extraction, chunking "+
			"and embedding) took longer than %s, the server's limit for one file; split it into smaller files", g.cfg.FileTimeout)})
	case errors.Is(cause, errShutdown):
		if err := g.queue.Requeue(bg, job); err != nil {
			g.log.Error("requeueing an interrupted ingest job", "file_id", job.File.ID, "err", err)
		}
	case errors.Is(cause, errDeleted), errors.As(err, &re) && (re.Code == "file_deleted" || re.Code == "ingest_superseded"):
		// The file is gone with everything it staged, or another node
		// of a cluster took its ingest over.
		g.queue.Done(bg, job)
	case errors.As(err, &re) && (re.Kind == ragd.EUNAVAILABLE || re.Kind == ragd.ETIMEOUT):
		wait, ok := g.retryDelay(job.Attempts)
		if !ok {
			g.fail(bg, job, ragd.FileError{Code: re.ClientCode(), Message: fmt.Sprintf("%s (gave up after %d attempts)", re.Message, job.Attempts)})
			return
		}
		// The store's clock, which ClaimJob compares not_before with.
		at := g.store.Now().Add(wait)
		g.log.Warn("ingest failed on a transient error; retrying", "file_id", job.File.ID, "attempt", job.Attempts, "at", at, "err", err)
		if err := g.queue.Retry(bg, job, at); err != nil {
			g.log.Error("queueing an ingest job again", "file_id", job.File.ID, "err", err)
		}
		time.AfterFunc(wait, g.wakeWorker)
	default:
		fe := ragd.FileError{Code: ragd.EINTERNAL, Message: "ingesting this file failed on an internal error; the server log has details under the file id"}
		if errors.As(err, &re) && re.Kind != ragd.EINTERNAL {
			fe = ragd.FileError{Code: re.ClientCode(), Message: re.Message}
		} else {
			g.log.Error("ingest failed", "file_id", job.File.ID, "err", err)
		}
		g.fail(bg, job, fe)
	}
}

// fail marks a job's file failed with fe and tells the observer.
func (g *Ingester) fail(ctx context.Context, job *store.Job, fe ragd.FileError) {
	if err := g.write.FailJob(ctx, job, fe, g.store.Now().Unix()); err != nil {
		var re *ragd.Error
		if errors.As(err, &re) && (re.Code == "file_deleted" || re.Code == "ingest_superseded") {
			g.queue.Done(ctx, job) // gone, or another node's job now
			return
		}
		// Not recorded (a cluster without a quorum): the job goes back
		// to the queue, to fail again, or pass, on its next run.
		g.log.Error("recording a failed ingest; queueing it again", "file_id", job.File.ID, "err", err)
		if err := g.queue.Requeue(ctx, job); err != nil {
			g.log.Error("requeueing an ingest job", "file_id", job.File.ID, "err", err)
		}
		return
	}
	g.queue.Done(ctx, job)
	if f, err := g.store.File(ctx, job.Workspace, job.Collection.ID, job.File.ID); err == nil {
		g.notify(ctx, job, f)
	}
}

// Failure returns the error file f failed with, for a client that waited
// for its ingest: of kind EUNAVAILABLE, ETIMEOUT or EINTERNAL when its
// code is one of those (a model provider stayed down, an internal error),
// else EUNPROCESSABLE (the file cannot be indexed as it is), with the
// file's code and a message naming the file.
func Failure(f *ragd.File) *ragd.Error {
	fe := ragd.FileError{Code: ragd.EINTERNAL, Message: "no reason was recorded"}
	if f.Error != nil {
		fe = *f.Error
	}
	kind := ragd.EUNPROCESSABLE
	switch fe.Code {
	case ragd.EUNAVAILABLE, ragd.ETIMEOUT, ragd.EINTERNAL:
		kind = fe.Code
	}
	return &ragd.Error{Kind: kind, Code: fe.Code, Param: "file",
		Message: fmt.Sprintf("the file %q (%s) failed to ingest: %s", f.Filename, f.ID, fe.Message)}
}

// Wait blocks until the ingest of file fileID has ended (completed or
// failed) and returns the file, or returns early with ctx's error, or an
// EUNAVAILABLE error when the Ingester is closing.
func (g *Ingester) Wait(ctx context.Context, ws, colID, fileID string) (*ragd.File, error) {
	for {
		g.mu.Lock()
		changed := g.changed
		g.mu.Unlock()
		f, err := g.store.File(ctx, ws, colID, fileID)
		if err != nil || f.Done() {
			return f, err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-g.stopping:
			return nil, &ragd.Error{Kind: ragd.EUNAVAILABLE, Code: "shutting_down",
				Message: "the server is shutting down; the file stays queued and is ingested after the restart"}
		case <-time.After(pollInterval):
		}
	}
}
