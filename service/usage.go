package service

import (
	"context"
	"time"

	"github.com/ragd/ragd"
)

// Usage counters and request logs are node-local bookkeeping, outside the
// write seam: each node counts what it served. In a cluster, usage is
// added up, and request logs merged, over the nodes when asked
// (Config.ClusterUsage).

// ClusterUsage adds up the usage every node of a cluster counted, and
// lists the requests every node logged.
type ClusterUsage interface {
	Usage(ctx context.Context, ws, month string) (map[ragd.UsageKey]ragd.UsageCounts, error)
	DailyUsage(ctx context.Context, ws string, from, to time.Time) ([]ragd.DayUsage, error)
	RequestLogs(ctx context.Context, q ragd.RequestLogQuery) ([]ragd.RequestLog, bool, error)
}

// AddUsage adds a batch of usage counters.
func (s *Service) AddUsage(ctx context.Context, batch map[ragd.UsageKey]ragd.UsageCounts) error {
	return s.store.AddUsage(ctx, batch)
}

// Usage returns the counters of workspace ws in month ("2006-01").
func (s *Service) Usage(ctx context.Context, ws, month string) (map[ragd.UsageKey]ragd.UsageCounts, error) {
	if s.clusterUsage != nil {
		return s.clusterUsage.Usage(ctx, ws, month)
	}
	return s.store.Usage(ctx, ws, month)
}

// StoredBytes returns the bytes workspace ws stores now.
func (s *Service) StoredBytes(ctx context.Context, ws string) (int64, error) {
	return s.store.StoredBytes(ctx, ws)
}

// StoredBytesIn returns the bytes workspace ws stored at the end of month.
func (s *Service) StoredBytesIn(ctx context.Context, ws, month string) (int64, error) {
	return s.store.StoredBytesIn(ctx, ws, month)
}

// DailyUsage returns the requests of workspace ws and their tokens by UTC
// day from from to to, counted from the request logs; days without a
// request are left out.
func (s *Service) DailyUsage(ctx context.Context, ws string, from, to time.Time) ([]ragd.DayUsage, error) {
	if s.clusterUsage != nil {
		return s.clusterUsage.DailyUsage(ctx, ws, from, to)
	}
	return s.store.DailyUsage(ctx, ws, from, to)
}

// InsertRequestLogs appends request logs.
func (s *Service) InsertRequestLogs(ctx context.Context, logs []ragd.RequestLog) error {
	return s.store.InsertRequestLogs(ctx, logs)
}

// RequestLogs returns the request logs q selects and whether more follow;
// a page's cursor is its last log's Cursor.
func (s *Service) RequestLogs(ctx context.Context, q ragd.RequestLogQuery) ([]ragd.RequestLog, bool, error) {
	if s.clusterUsage != nil {
		return s.clusterUsage.RequestLogs(ctx, q)
	}
	return s.store.RequestLogs(ctx, q)
}

// PruneRequestLogs deletes request logs older than before.
func (s *Service) PruneRequestLogs(ctx context.Context, before time.Time) (int64, error) {
	return s.store.PruneRequestLogs(ctx, before)
}

// Ping checks that the database answers.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// DatabaseBytes returns the size of the database file and its WAL.
func (s *Service) DatabaseBytes() int64 { return s.store.DatabaseBytes() }

// VectorCacheStats returns the bytes the vector cache holds and how many
// chunks of vectors it has loaded since the store opened.
func (s *Service) VectorCacheStats() (bytes, chunkLoads int64) { return s.store.VectorCacheStats() }

// PendingJobs returns how many files wait for or are in ingestion.
func (s *Service) PendingJobs(ctx context.Context) (int, error) { return s.store.PendingJobs(ctx) }

// Tokens counts the tokens each model read for one call, by model name,
// so that each model's price applies to its own tokens.
type Tokens map[string]int

// Add counts n tokens read by model and returns t (made when nil).
func (t Tokens) Add(model string, n int) Tokens {
	if n == 0 {
		return t
	}
	if t == nil {
		t = Tokens{}
	}
	t[model] += n
	return t
}

// Merge adds o's counts to t and returns t (made when nil).
func (t Tokens) Merge(o Tokens) Tokens {
	for m, n := range o {
		t = t.Add(m, n)
	}
	return t
}

// Total returns the tokens of every model together.
func (t Tokens) Total() int {
	n := 0
	for _, v := range t {
		n += v
	}
	return n
}
