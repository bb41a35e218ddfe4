package walvfs_test

import (
	"bufio"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/ragd/ragd/store/walvfs"
)

// open opens path for writing through the VFS, or through SQLite's
// default VFS, in WAL mode with a small page cache (so that a large
// transaction spills frames to the WAL before its commit) and no
// automatic checkpoints (so that the WAL keeps every transaction).
func open(tb testing.TB, path string, throughVFS bool) *sql.DB {
	return openWith(tb, path, throughVFS, "_synchronous=NORMAL")
}

// openWith opens path as open does, with params added to its URI.
func openWith(tb testing.TB, path string, throughVFS bool, params string) *sql.DB {
	tb.Helper()
	if err := walvfs.Register(); err != nil {
		tb.Fatal(err)
	}
	dsn := "file:" + path + "?_journal_mode=WAL&_busy_timeout=10000&" + params
	if throughVFS {
		dsn += "&vfs=" + walvfs.Name
	}
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	for _, p := range []string{"PRAGMA page_size = 8192", "PRAGMA cache_size = 64", "PRAGMA wal_autocheckpoint = 0",
		"CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, tx INTEGER, v BLOB)"} {
		if _, err := db.Exec(p); err != nil {
			tb.Fatal(p, ": ", err)
		}
	}
	return db
}

// workload is the transactions the tests write: some of one small row,
// some of many rows over many pages, and some that spill pages to the WAL
// and then change the rows of those pages again in the same transaction,
// so that SQLite writes over frames it wrote and rewrites their headers'
// checksums at the commit.
var workload = []struct{ rows, size, rewrite int }{
	{1, 10, 0}, {200, 3000, 0}, {1, 10, 0}, {400, 5000, 300}, {50, 20000, 0}, {1, 10, 0}, {600, 4000, 500}, {3, 100, 0},
}

// write runs transaction tx of the workload; its rows' bytes follow from
// tx, so a reader can check them (rowsOf).
func write(db *sql.DB, tx int) error {
	w := workload[tx]
	t, err := db.Begin()
	if err != nil {
		return err
	}
	defer t.Rollback()
	for r := range w.rows {
		if _, err := t.Exec("INSERT INTO t (tx, v) VALUES (?, ?)", tx, value(tx, r, w.size)); err != nil {
			return err
		}
	}
	if w.rewrite > 0 {
		if _, err := t.Exec("UPDATE t SET v = v || x'01' WHERE tx = ? AND id IN (SELECT id FROM t WHERE tx = ? ORDER BY id LIMIT ?)", tx, tx, w.rewrite); err != nil {
			return err
		}
	}
	return t.Commit()
}

// value is row r of transaction tx before any update.
func value(tx, r, size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(tx*31 + r*7 + i)
	}
	return b
}

// digest is what a database that has transactions 0..n-1 of the workload
// holds, as rowsOf reads it.
func digest(n int) string {
	h := sha256.New()
	for tx := range n {
		w := workload[tx]
		for r := range w.rows {
			v := value(tx, r, w.size)
			if r < w.rewrite {
				v = append(v, 1)
			}
			h.Write(v)
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// rowsOf reads db's rows in order: the transactions it holds and their
// digest.
func rowsOf(tb testing.TB, db *sql.DB) (int, string) {
	tb.Helper()
	rows, err := db.Query("SELECT tx, v FROM t ORDER BY id")
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	h := sha256.New()
	txs := 0
	for rows.Next() {
		var tx int
		var v []byte
		if err := rows.Scan(&tx, &v); err != nil {
			tb.Fatal(err)
		}
		txs = max(txs, tx+1)
		h.Write(v)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return txs, fmt.Sprintf("%x", h.Sum(nil))
}

// Every transaction written through the VFS is whole in the WAL when its
// commit returns: a reader on SQLite's own VFS sees it at once and
// nothing is held back. A transaction's frames are written together,
// but for those it writes over (its own frames, spilled from the page
// cache before the commit), which go to the file at once. With
// synchronous=FULL and no power-safe overwrite, SQLite pads each commit
// to a sector with copies of its last frame and syncs in the middle of
// one of them; the copies are written before the commit returns too.
func TestCommitsAreWrittenWhole(t *testing.T) {
	for _, tt := range []struct {
		params string
		padded bool
	}{
		{"_synchronous=NORMAL", false},
		{"_synchronous=FULL&psow=0", true},
	} {
		t.Run(tt.params, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "db")
			db := openWith(t, path, true, tt.params)
			reader := open(t, path, false)
			for tx, w := range workload {
				before := walvfs.ReadStats()
				if err := write(db, tx); err != nil {
					t.Fatalf("transaction %d: %v", tx, err)
				}
				s := walvfs.ReadStats()
				if s.Pending != 0 {
					t.Fatalf("after transaction %d the VFS holds %d bytes", tx, s.Pending)
				}
				if n, sum := rowsOf(t, reader); n != tx+1 || sum != digest(tx+1) {
					t.Fatalf("after transaction %d a reader sees %d transactions, digest %s, want %s", tx, n, sum, digest(tx+1))
				}
				held, passed, flushes := s.Held-before.Held, s.Passed-before.Passed, s.Flushes-before.Flushes
				t.Logf("transaction %d: held %d writes, passed %d, flushed %d times", tx, held, passed, flushes)
				switch {
				case held < 2:
					t.Errorf("transaction %d: held %d writes, want its frames' writes held", tx, held)
				case w.rewrite == 0 && !tt.padded && (passed > 1 || flushes > 1+held/20):
					// At most one write passes: the WAL's header when the WAL starts
					// over, or a frame the transaction spilled and writes over.
					t.Errorf("transaction %d: %d writes passed through and %d held in %d flushes, want them held and written 15 frames a call", tx, passed, held, flushes)
				case w.rewrite > 0 && passed < 10:
					t.Errorf("transaction %d: passed %d writes through, want the frames it wrote over among them", tx, passed)
				}
			}
			var check string
			if err := reader.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
				t.Fatalf("integrity_check: %q, %v", check, err)
			}
		})
	}
}

// The same transactions give the same database through the VFS and
// without it, checkpointed into the database file.
func TestSameDatabase(t *testing.T) {
	var sums [2]string
	for i, through := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "db")
		db := open(t, path, through)
		for tx := range workload {
			if err := write(db, tx); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			t.Fatal(err)
		}
		var n int
		n, sums[i] = rowsOf(t, db)
		if n != len(workload) {
			t.Fatalf("through the VFS %v: %d transactions", through, n)
		}
	}
	if sums[0] != sums[1] || sums[0] != digest(len(workload)) {
		t.Fatalf("digests %s (default VFS), %s (walvfs), want %s", sums[0], sums[1], digest(len(workload)))
	}
}

// childEnv names the database a child process of TestKilledAfterCommit
// writes.
const childEnv = "WALVFS_TEST_CHILD_DB"

// A process killed with SIGKILL after a commit leaves every transaction
// it committed in the WAL: SQLite's recovery, which reads the WAL frame
// by frame and stops at the first whose checksum fails, finds them all
// when the database is opened again. The child reports each commit on
// stdout and is killed after some of them, in a different place each
// time, while it writes the next.
func TestKilledAfterCommit(t *testing.T) {
	if path := os.Getenv(childEnv); path != "" {
		db := open(t, path, true)
		for tx := range workload {
			if err := write(db, tx); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			fmt.Println("committed", tx)
		}
		os.Stdin.Read(make([]byte, 1)) // until killed: the parent never writes
		os.Exit(1)
	}
	for killAfter := range workload {
		path := filepath.Join(t.TempDir(), "db")
		cmd := exec.Command(os.Args[0], "-test.run=^TestKilledAfterCommit$")
		cmd.Env = append(os.Environ(), childEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		defer stdin.Close()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		committed := -1
		for committed < killAfter && lines.Scan() {
			f := strings.Fields(lines.Text())
			if len(f) == 2 && f[0] == "committed" {
				committed, _ = strconv.Atoi(f[1])
			} else {
				t.Fatalf("child: %s", lines.Text())
			}
		}
		if committed != killAfter {
			t.Fatalf("child reported %d commits, want %d (%v)", committed+1, killAfter+1, lines.Err())
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
			t.Fatalf("the killed process left no WAL: %v", err)
		}
		db := open(t, path, false)
		n, sum := rowsOf(t, db)
		// The child may have committed the next transaction before the
		// signal arrived; none may be missing.
		if n < killAfter+1 || sum != digest(n) {
			t.Fatalf("killed after transaction %d: the database holds %d transactions, digest %s, want %s", killAfter, n, sum, digest(n))
		}
		var check string
		if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
			t.Fatalf("integrity_check: %q, %v", check, err)
		}
	}
}
