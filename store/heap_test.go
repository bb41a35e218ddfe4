package store_test

import (
	"database/sql"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/ragd/ragd/store/storetest"
)

// Memory SQLite frees stays with the process for its next statement:
// statements inside a transaction that each change pages all over an
// index (random keys) copy every page they change into their statement
// journal, which they free at their end, and the next one takes the same
// memory again without faulting it in from the kernel. With glibc's
// defaults each statement here faulted 1,200-1,600 pages in; with the
// store's settings (heap.go) 20-80, the garbage collector's included.
func TestSQLiteKeepsFreedHeap(t *testing.T) {
	storetest.MustOpen(t) // the store's settings apply to the whole process
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "heap.db")+"?_journal_mode=WAL&_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// 2,000 rows with random keys, each row's reference to parent making
	// the statement one that must be able to undo itself alone, with a
	// statement journal.
	const insert = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2000) INSERT INTO child (p, k) SELECT 1, hex(randomblob(40)) FROM n"
	for _, q := range []string{
		"PRAGMA temp_store = MEMORY", // as the store's connections
		"CREATE TABLE parent (id INTEGER PRIMARY KEY)",
		"CREATE TABLE child (id INTEGER PRIMARY KEY, p INTEGER REFERENCES parent(id), k TEXT)",
		"CREATE INDEX child_k ON child(k)",
		"INSERT INTO parent VALUES (1)",
		"BEGIN", insert, insert, insert, insert, insert, insert, insert, insert, insert, insert, insert, insert, insert, insert, insert, insert, insert, insert, insert, insert, insert, insert, insert, insert, insert, "COMMIT",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var ru syscall.Rusage
	var faults []int64
	for range 9 {
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		before := ru.Minflt
		if _, err := tx.Exec(insert); err != nil {
			t.Fatal(err)
		}
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		faults = append(faults, ru.Minflt-before)
	}
	// The first statement takes the memory; the others' median.
	later := slices.Sorted(slices.Values(faults[1:]))
	if median := later[len(later)/2]; median > 300 {
		t.Errorf("statements faulted %v pages in; want a median under 300 after the first", faults)
	}
}
