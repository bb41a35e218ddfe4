package store

/*
#include <sqlite3.h>
#include <stdlib.h>

// ragd_wal is what the WAL hook of one connection records: the frames in
// its database's WAL after its latest commit.
typedef struct { sqlite3_int64 frames; } ragd_wal;

static int ragd_wal_hook(void *p, sqlite3 *db, const char *zDb, int nFrame) {
	(void)db; (void)zDb;
	((ragd_wal *)p)->frames = nFrame;
	return SQLITE_OK;
}

// ragd_wal_watch() puts the WAL hook on its connection. That takes the
// place of SQLite's automatic checkpoints, which are a WAL hook too: the
// connection then never checkpoints on its own.
static void ragd_wal_watch(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
	(void)argc; (void)argv;
	sqlite3_wal_hook(sqlite3_context_db_handle(ctx), ragd_wal_hook, sqlite3_user_data(ctx));
	sqlite3_result_null(ctx);
}

// ragd_wal_frames() returns the frames its connection's WAL held after
// the connection's latest commit, 0 before the first one.
static void ragd_wal_frames(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
	(void)argc; (void)argv;
	sqlite3_result_int64(ctx, ((ragd_wal *)sqlite3_user_data(ctx))->frames);
}

// ragd_wal_init gives each connection its ragd_wal and the two functions
// that share it; the connection frees it when it closes (the xDestroy of
// ragd_wal_frames).
static int ragd_wal_init(sqlite3 *db, char **pzErrMsg, const void *pApi) {
	(void)pzErrMsg; (void)pApi;
	ragd_wal *w = sqlite3_malloc(sizeof *w);
	if (!w) return SQLITE_NOMEM;
	w->frames = 0;
	// On failure SQLite has already called the destructor on w.
	int rc = sqlite3_create_function_v2(db, "ragd_wal_frames", 0, SQLITE_UTF8 | SQLITE_DIRECTONLY, w, ragd_wal_frames, 0, 0, sqlite3_free);
	if (rc != SQLITE_OK) return rc;
	return sqlite3_create_function(db, "ragd_wal_watch", 0, SQLITE_UTF8 | SQLITE_DIRECTONLY, w, ragd_wal_watch, 0, 0);
}

static void ragd_wal_register(void) { sqlite3_auto_extension((void (*)(void))ragd_wal_init); }
*/
import "C"

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"
)

// registerWALWatch makes every connection opened from now on know
// ragd_wal_watch and ragd_wal_frames.
func registerWALWatch() { C.ragd_wal_register() }

// The WAL's checkpoints run beside the writer, not in it.
//
// SQLite's automatic checkpoint runs in the commit that finds the WAL
// past its limit, on the writer's connection, and no write runs while it
// copies: a bulk load of 200k chunks spent 2.9 of its 12.6 s copying the
// WAL into the database file (docs/benchmarks.md, "Checkpoints beside
// the writer"). The writer's connection watches its WAL instead
// (ragd_wal_watch): past checkpointStart bytes, a commit wakes
// checkpointer.loop, which copies the WAL on a connection of its own, on
// the other core, while the writer goes on.
//
// A checkpoint beside a busy writer never quite catches up with it:
// frames come in while it copies, and SQLite starts the WAL over from
// its beginning only when a write transaction begins with every frame
// copied. So a commit that finds checkpointLimit bytes copies what
// remains itself (what came in since the last background checkpoint),
// while no write can add more, and the next write starts the WAL over.
// A commit past checkpointLimit while the background checkpoint runs
// leaves the remainder to the next commit; one that finds twice the
// limit waits for it and runs one itself. The WAL so stays under twice
// checkpointLimit and one transaction, usually near checkpointLimit
// (TestBulkLoadBoundsWAL). Only a read that holds an old snapshot keeps
// it growing past that, as in any SQLite database: no checkpoint may
// copy the frames it can still read, so the WAL starts over once it
// ends.
const (
	// checkpointStart is the WAL's size from which a commit wakes the
	// background checkpoint: 64 MiB. Pages a bulk load rewrites in
	// every transaction (B-tree interiors, the vector chunk being
	// filled, FTS5's structure) are copied once per checkpoint, not once
	// per transaction.
	checkpointStart = 64 << 20
	// checkpointStride is the bytes a commit waits for, past the last
	// wake, before it wakes the background checkpoint again.
	checkpointStride = checkpointStart / 4
	// checkpointLimit is the WAL's size from which a commit checkpoints
	// itself: 256 MiB. With 128 MiB, twice as many commits did, each
	// paying for the checkpoint's two fsyncs, and a load of 1M chunks
	// took 9% longer.
	checkpointLimit = 4 * checkpointStart
)

// checkpointer runs the WAL's checkpoints: on its own connection beside
// the writer, or past checkpointLimit on the writer's.
type checkpointer struct {
	db   *sql.DB       // its own connection to the database
	kick chan struct{} // wakes loop
	// mu is held while a checkpoint runs: a second one at the same time
	// would only fail busy.
	mu  sync.Mutex
	log *slog.Logger
	// pageSize is the database's, the size of the WAL's frames; start,
	// stride and limit are checkpointStart, checkpointStride and
	// checkpointLimit in frames (smaller in tests, see at).
	pageSize             int64
	start, stride, limit int64
	// kickedAt is the WAL's frames when a commit last woke loop, 0 since
	// the WAL started over. Only committed uses it, on the writer's
	// connection, one commit at a time.
	kickedAt int64
}

// newCheckpointer returns the checkpointer of the database db connects
// to, whose pages are pageSize bytes; the store gives it its logger once
// its options are applied.
func newCheckpointer(db *sql.DB, pageSize int64) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), pageSize: pageSize}
	c.at(checkpointStart)
	return c
}

// at makes checkpoints start once the WAL holds start bytes, their stride
// and limit in proportion to checkpointStart's.
func (c *checkpointer) at(start int64) {
	frames := func(bytes int64) int64 { return max(1, bytes/c.pageSize) }
	c.start = frames(start)
	c.stride = frames(start * checkpointStride / checkpointStart)
	c.limit = frames(start * checkpointLimit / checkpointStart)
}

// committed decides, on the writer's connection w right after it
// committed, whether the WAL needs a checkpoint and who runs it.
func (c *checkpointer) committed(w *sql.Conn) {
	ctx := context.Background()
	var frames int64
	if err := w.QueryRowContext(ctx, "SELECT ragd_wal_frames()").Scan(&frames); err != nil {
		c.log.Warn("reading the WAL's size", "err", err)
		return
	}
	if frames < c.kickedAt {
		c.kickedAt = 0 // the WAL started over
	}
	switch {
	case frames >= 2*c.limit:
		c.mu.Lock()
	case frames >= c.limit:
		if !c.mu.TryLock() {
			return // the one running may copy enough; the next commit sees
		}
	case frames >= c.start && frames >= c.kickedAt+c.stride:
		c.kickedAt = frames
		select {
		case c.kick <- struct{}{}:
		default: // already woken
		}
		return
	default:
		return
	}
	defer c.mu.Unlock()
	c.run(ctx, w)
}

// run copies what it can of the WAL into the database file on connection
// db, without waiting for readers or the writer (PASSIVE).
func (c *checkpointer) run(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}) {
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		c.log.Warn("wal checkpoint", "err", err)
	}
}

// truncate copies the whole WAL into the database file and empties it,
// on the writer's connection w, waiting for readers and the writer
// (TRUNCATE); c.mu keeps a background checkpoint from making it fail
// busy. Its caller holds w, as committed's does: the same order of the
// two locks.
func (c *checkpointer) truncate(ctx context.Context, w *sql.Conn) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// loop runs a checkpoint on c's own connection when a commit wakes it,
// and every period: SQLite cannot copy the frames readers of old
// snapshots may still read, so a WAL that stopped growing is copied
// later. It returns once stop is closed.
func (c *checkpointer) loop(stop <-chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-c.kick:
		case <-t.C:
		}
		c.mu.Lock()
		c.run(context.Background(), c.db)
		c.mu.Unlock()
	}
}
