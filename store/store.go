// Package store owns ragd's SQLite database: schema migrations, workspaces,
// API keys, collections, items, files, chunks and jobs, and search (vector
// KNN through sqlite-vec, keyword BM25 through FTS5, and both fused).
//
// Collections share one vector table per dimension count and one keyword
// table, partitioned by collection (index.go), so a search costs in
// proportion to the searched collection and the schema does not grow with
// collections. Writes go through one connection
// in IMMEDIATE transactions; reads use a pool. All workspace isolation is
// enforced in the queries: a method given a workspace never returns or
// changes rows of another.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vec "github.com/asg017/sqlite-vec-go-bindings/cgo"
	"github.com/mattn/go-sqlite3"
	"github.com/ragd/ragd/store/scopedfts"
	"github.com/ragd/ragd/store/walvfs"
)

//go:embed migrations/*.sql
var migrations embed.FS

// FileName is the database's file name inside the data directory.
const FileName = "ragd.db"

// Driver names: readers map the database into memory, the writer does not.
const (
	driverName       = "sqlite3_ragd"
	writerDriverName = "sqlite3_ragd_writer"
)

var registerOnce sync.Once

func registerDriver() {
	registerOnce.Do(func() {
		vec.Auto()
		scopedfts.Register()
		registerBlobWrite()
		registerRows()
		registerWALWatch()
		keepHeap()
		// mmap lets vector scans read pages without copying them through
		// SQLite's page cache. The writer reads through its bounded page
		// cache instead: publishing a large file reads all its staged
		// chunks, and mapped pages would count in the process's RSS.
		// The writer's connection leaves checkpoints to the store
		// (ragd_wal_watch, checkpoint.go); the background checkpoint's
		// connection is a writer's too, unmapped, and never writes.
		sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: connectHook("PRAGMA mmap_size = 17179869184")})
		sql.Register(writerDriverName, &sqlite3.SQLiteDriver{ConnectHook: connectHook("PRAGMA mmap_size = 0", "SELECT ragd_wal_watch()")})
	})
}

func connectHook(pragmas ...string) func(c *sqlite3.SQLiteConn) error {
	return func(c *sqlite3.SQLiteConn) error {
		for _, p := range append(pragmas,
			"PRAGMA cache_size = -65536",
			"PRAGMA temp_store = MEMORY",
			// When the WAL starts over, its file shrinks back to this
			// size: the most a bulk load's WAL holds before a commit
			// checkpoints it, so that it is not cut and grown again
			// each time.
			"PRAGMA journal_size_limit = "+strconv.Itoa(checkpointLimit),
		) {
			if _, err := c.Exec(p, nil); err != nil {
				return err
			}
		}
		return nil
	}
}

// Store is ragd's database. It is safe for concurrent use.
type Store struct {
	path string
	db   *sql.DB // readers
	wdb  *sql.DB // the one writer
	cdb  *sql.DB // the background checkpoint's, see checkpointer
	ckpt *checkpointer

	now func() time.Time // see WithClock
	log *slog.Logger     // see WithLogger

	// seqs maps each collection ID read outside a write since Open to
	// its seq (the key of its rows in the shared search tables, which
	// never changes), so that SearchCollection need not read the row
	// again; DeleteCollection forgets it.
	seqs sync.Map

	vecs          *vecCache // vectors of searched collections, see vecscan.go
	diskScanBatch int       // see defaultDiskScanBatch
	quantizeAbove int64     // see DefaultQuantizeAbove
	binaryFirst   bool      // quantized scans begin with 2-bit codes (cachedVectorSearch)

	keywordSplitRows int          // see defaultKeywordSplitRows
	terms            termCounts   // rows per keyword term, see termcounts.go
	kws              *kwCache     // postings of searched collections, see keywords.go
	kwBuilds         chan kwBuild // collections for keywordBuildLoop to build
	kwSyncBlocks     int          // see defaultKeywordSyncBlocks

	// writes counts the write transactions committed since Open through
	// write: every change of what a search reads goes through it, so an
	// answer read when it had a value still holds while it keeps it (see
	// filterCache).
	writes  atomic.Uint64
	filters *filterCache // chunk IDs passing recent filters, see filter.go
	// writers counts the transactions holding the writer or waiting for
	// it: a bulk insert that finds it busy tokenizes its keywords while
	// it waits (InsertItems).
	writers atomic.Int64

	vacuumKick chan struct{} // wakes vacuumLoop, see freeSpace

	migrateBefore string // tests: apply only the migrations named before it

	stop chan struct{}
	wg   sync.WaitGroup
}

// Option configures a Store at Open, before its background work starts.
type Option func(*Store)

// WithLogger routes the store's warnings (failed background checkpoints
// and vacuums, stored data it reads past) to l instead of slog.Default().
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// WithClock makes now the store's clock (default time.Now): the time of
// node-local bookkeeping (ingest jobs and their retries, webhook
// deliveries, migrations) and of the ingester's writes.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithMemoryBudget sets the bytes of vectors the store keeps in memory
// for search (default DefaultVectorCacheBytes): the vector cache, whose
// least recently searched collections are evicted above it. A collection
// larger than the budget is scanned from the database by the same code,
// slower but in proportion to its size.
func WithMemoryBudget(n int64) Option { return func(s *Store) { s.vecs.budget = n } }

// Now returns the current time of the store's clock.
func (s *Store) Now() time.Time { return s.now() }

// stmtCacheSize is how many prepared statements each connection keeps
// for reuse (go-sqlite3's statement cache). Preparing a search's
// statements again on every search cost about 120 us of a 1.8 ms vector
// search at 100k chunks, the results' three-table join most of it.
const stmtCacheSize = 64

// Open opens (creating if needed) the database at path and applies pending
// migrations. Call Close when done.
func Open(path string, opts ...Option) (*Store, error) {
	registerDriver()
	if err := walvfs.Register(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if err := privateFiles(abs); err != nil {
		return nil, err
	}
	// Only the writer's connection sets the journal and vacuum modes:
	// setting auto_vacuum begins a write transaction, which would make
	// a reader's or the checkpointer's new connection wait for the
	// writer's (and fail "database is locked" behind a bulk load's)
	// (TestConnectionsOpenDuringWrite).
	dsn := func(kv ...string) string {
		q := url.Values{}
		q.Set("_busy_timeout", "10000")
		q.Set("_synchronous", "NORMAL")
		q.Set("_stmt_cache_size", strconv.Itoa(stmtCacheSize))
		for i := 0; i < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return "file:" + abs + "?" + q.Encode()
	}
	// The writer writes its WAL through walvfs, a transaction's frames in
	// a few large writes (store/walvfs).
	wdb, err := sql.Open(writerDriverName, dsn("_journal_mode", "WAL", "_auto_vacuum", "incremental", "_foreign_keys", "on", "_txlock", "immediate", "vfs", walvfs.Name))
	if err != nil {
		return nil, err
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetConnMaxLifetime(0)
	db, err := sql.Open(driverName, dsn("_query_only", "1"))
	if err != nil {
		wdb.Close()
		return nil, err
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	// The background checkpoint's own connection (checkpoint.go).
	cdb, err := sql.Open(writerDriverName, dsn())
	if err != nil {
		wdb.Close()
		db.Close()
		return nil, err
	}
	cdb.SetMaxOpenConns(1)
	// The page size of the database, which the writer's connection
	// creates if need be: the WAL's frames are of it.
	var pageSize int64
	if err := wdb.QueryRow("PRAGMA page_size").Scan(&pageSize); err != nil {
		wdb.Close()
		db.Close()
		cdb.Close()
		return nil, err
	}
	s := &Store{path: abs, db: db, wdb: wdb, cdb: cdb, ckpt: newCheckpointer(cdb, pageSize), now: time.Now, log: slog.Default(), vecs: newVecCache(DefaultVectorCacheBytes), filters: newFilterCache(), diskScanBatch: defaultDiskScanBatch, quantizeAbove: DefaultQuantizeAbove, binaryFirst: true, keywordSplitRows: defaultKeywordSplitRows,
		kws: newKwCache(DefaultKeywordCacheBytes), kwBuilds: make(chan kwBuild, 64), kwSyncBlocks: defaultKeywordSyncBlocks,
		vacuumKick: make(chan struct{}, 1), stop: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	s.vecs.dir, s.vecs.log, s.ckpt.log = filepath.Dir(abs), s.log, s.log
	if err := s.migrate(context.Background()); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("migrate %s: %w", abs, err)
	}
	s.wg.Add(3)
	go func() { defer s.wg.Done(); s.ckpt.loop(s.stop, 30*time.Second) }()
	go s.vacuumLoop()
	go s.keywordBuildLoop()
	s.freeSpace() // pages a previous run left free
	return s, nil
}

// FileMode is the mode of the database, its WAL and shared-memory files
// and backups: they hold every document, and key hashes, so only ragd's
// own user may read them.
const FileMode fs.FileMode = 0o600

// privateFiles creates the database file at path with FileMode if it does
// not exist, and takes group and other permissions off an existing one
// and its -wal and -shm (a database of an older ragd was created 0644).
// SQLite creates a new database 0644 (less the umask), but gives its -wal
// and -shm the mode of the database file, so the database's mode is
// enough for all three.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&^FileMode != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&FileMode); err != nil {
				return err
			}
		}
	}
	return nil
}

// Path returns the database file's absolute path.
func (s *Store) Path() string { return s.path }

// Close stops background work, checkpoints the WAL into the database file
// and closes all connections.
func (s *Store) Close() error {
	close(s.stop)
	s.wg.Wait()
	err := s.Checkpoint(context.Background())
	s.vecs.closeAll()
	return errors.Join(err, s.closeDBs())
}

func (s *Store) closeDBs() error {
	return errors.Join(s.db.Close(), s.wdb.Close(), s.cdb.Close())
}

// Checkpoint copies the WAL into the database file and truncates it.
func (s *Store) Checkpoint(ctx context.Context) error {
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return s.ckpt.truncate(ctx, conn)
}

// vacuumStep is how many free pages one step of vacuumLoop returns to the
// file system: 8 MiB, about 0.15 s of writing on the benchmark machine.
const vacuumStep = 2048

// freeSpace asks vacuumLoop to return the database's free pages to the
// file system; it does not wait.
func (s *Store) freeSpace() {
	select {
	case s.vacuumKick <- struct{}{}:
	default: // already asked
	}
}

// vacuumLoop returns free pages to the file system when freeSpace asks,
// vacuumStep pages per PRAGMA incremental_vacuum. Each step holds the one
// writer connection alone, so other writes run between steps instead of
// waiting for the whole collection's space (7 s for 100k chunks). Pages
// still free at Close are freed after the next Open.
func (s *Store) vacuumLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case <-s.vacuumKick:
		}
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			free, err := s.vacuumOnce(context.Background())
			if err != nil {
				s.log.Warn("incremental vacuum", "err", err)
				break
			}
			if free == 0 {
				break
			}
		}
	}
}

// vacuumOnce frees up to vacuumStep pages and returns how many remain
// free. SQLite frees one page per row of PRAGMA incremental_vacuum, so the
// rows are drained.
func (s *Store) vacuumOnce(ctx context.Context) (int64, error) {
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, fmt.Sprintf("PRAGMA incremental_vacuum(%d)", vacuumStep))
	if err != nil {
		return 0, err
	}
	for rows.Next() {
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, err
	}
	// Each step commits on the writer's connection outside commit: it
	// checks the WAL as commit does, or a vacuum after a large delete
	// would grow the WAL by every page it moves.
	s.ckpt.committed(conn)
	var free int64
	err = conn.QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&free)
	return free, err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// FileStats describes the database file's size.
type FileStats struct {
	// Pages is the number of pages in the file, FreePages of them unused.
	Pages, FreePages int64
	// PageSize is the size of a page in bytes.
	PageSize int64
}

// Stats returns the database file's size in pages, all three numbers of
// one snapshot: read one by one, a vacuum step between them could pair a
// page count from before it with a free count from after.
func (s *Store) Stats(ctx context.Context) (FileStats, error) {
	var st FileStats
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return st, err
	}
	defer tx.Rollback()
	for _, p := range []struct {
		pragma string
		dst    *int64
	}{{"page_count", &st.Pages}, {"freelist_count", &st.FreePages}, {"page_size", &st.PageSize}} {
		if err := tx.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(p.dst); err != nil {
			return st, err
		}
	}
	return st, nil
}

// IntegrityCheck runs PRAGMA integrity_check and returns its first problem.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	var res string
	if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return err
	}
	if res != "ok" {
		return fmt.Errorf("integrity_check: %s", res)
	}
	return nil
}

// Backup writes a consistent copy of the database to a new file at path,
// with FileMode, using VACUUM INTO while other connections keep reading and
// writing. An existing file at path is an error, never overwritten.
func (s *Store) Backup(ctx context.Context, path string) (err error) {
	// VACUUM INTO would create the file 0644; it accepts an empty one.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(path)
		}
	}()
	// A reader connection only reads the database, but VACUUM INTO is
	// refused under query_only: lift it on this connection meanwhile.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA query_only = 0"); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA query_only = 1")
	_, err = conn.ExecContext(ctx, "VACUUM INTO ?", path)
	return err
}

// goMigrations are the steps of migrations that SQL alone cannot take,
// run after the migration's file in its transaction.
var goMigrations = map[string]func(context.Context, *sql.Tx) error{
	"090_shared_search_tables": moveCollectionTables,
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.wdb.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied INTEGER NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		if s.migrateBefore != "" && version >= s.migrateBefore {
			break
		}
		err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			var n int
			if err := tx.QueryRow(`SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil || n > 0 {
				return err
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(string(body)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if step := goMigrations[version]; step != nil {
				if err := step(ctx, tx); err != nil {
					return fmt.Errorf("%s: %w", version, err)
				}
			}
			_, err = tx.Exec(`INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`, version, s.Now().Unix())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// write runs fn in an IMMEDIATE transaction on the writer connection and
// commits it when fn returns nil; otherwise nothing fn did is kept. It
// counts the commit (Store.writes).
//
// fn gets ctx without its cancellation, for its statements: go-sqlite3
// runs each statement given a context that can end on a goroutine of its
// own, to interrupt it, and the handoffs to and from it cost more than
// the statement (a batch insert through the HTTP API spent 40 us an item
// in them, docs/benchmarks.md, "Bulk writes"). The transaction still
// ends with ctx: database/sql rolls it back once ctx is done, after the
// statement running then.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.commit(ctx, fn, true)
}

// writeBookkeeping is write for node-local bookkeeping that no search
// reads (usage counters, request logs, webhook deliveries): it leaves the
// write count, and so the filters' kept answers, alone, which the request
// logs' flush every 2 s would otherwise drop under any traffic.
func (s *Store) writeBookkeeping(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.commit(ctx, fn, false)
}

func (s *Store) commit(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error, counted bool) error {
	s.writers.Add(1)
	defer s.writers.Add(-1)
	// The connection is held past the commit for the WAL's check.
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	err = func(ctx context.Context) error {
		if err := fn(ctx, tx); err != nil {
			tx.Rollback()
			return err
		}
		if err := recordApplied(ctx, tx); err != nil {
			tx.Rollback()
			return err
		}
		if counted {
			// Counted even when the commit fails: an uncertain commit
			// may have landed, and a needless count only costs a cache
			// miss.
			defer s.writes.Add(1)
		}
		return tx.Commit()
	}(context.WithoutCancel(ctx))
	if errors.Is(err, sql.ErrTxDone) && ctx.Err() != nil {
		return ctx.Err() // what ended the transaction, which ErrTxDone does not say
	}
	if err == nil {
		s.ckpt.committed(conn)
	}
	return err
}

// isUnique reports whether err is a UNIQUE constraint violation.
func isUnique(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique
}
