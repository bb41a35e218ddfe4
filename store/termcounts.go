package store

import (
	"context"
	"fmt"
	"sync"
)

// The term-count cache spares keyword search most of the cost of
// rareTerms: knowing whether a term is in half a collection's rows means
// counting up to half of them, about 6 ms for a common term at 100k
// chunks, and common terms are the ones queries repeat.
//
// Counts are cached per collection under its version: its index_writes,
// which every change of its keyword rows increments in the same
// transaction (index.go), so a version names one set of rows
// (TestTermCountsFollowWrites). Each count is read in the same statement,
// so the same snapshot, as the version it is cached under.
type termCounts struct {
	mu     sync.Mutex
	tables map[int64]*tableTerms // by collection seq
	size   int                   // cached counts over all collections
}

// tableTerms is the cached term counts of one version of one collection.
type tableTerms struct {
	version string
	counts  map[string]int
}

// maxTermCounts bounds the cache; past it, it starts over.
const maxTermCounts = 1 << 17

// versionSQL is an expression giving the version of the keyword rows of
// the collection whose seq is its argument.
const versionSQL = `(SELECT index_writes FROM collections WHERE seq = ?)`

// countsVersion is the cache version of counts that stop at half in
// version v of a collection's keyword rows.
func countsVersion(half int, v string) string { return fmt.Sprint(half, ":", v) }

// termVersion returns the current version of collection seq's keyword rows.
func (s *Store) termVersion(ctx context.Context, seq int64) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT `+versionSQL, seq).Scan(&v)
	return v, err
}

// get returns the cached count of term in version of collection seq.
func (tc *termCounts) get(seq int64, version, term string) (int, bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	t := tc.tables[seq]
	if t == nil || t.version != version {
		return 0, false
	}
	n, ok := t.counts[term]
	return n, ok
}

// put caches the count of term in version of collection seq, replacing
// the counts of its other versions.
func (tc *termCounts) put(seq int64, version, term string, n int) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.size >= maxTermCounts {
		tc.tables, tc.size = nil, 0
	}
	if tc.tables == nil {
		tc.tables = map[int64]*tableTerms{}
	}
	t := tc.tables[seq]
	if t == nil || t.version != version {
		if t != nil {
			tc.size -= len(t.counts)
		}
		t = &tableTerms{version: version, counts: map[string]int{}}
		tc.tables[seq] = t
	}
	if _, ok := t.counts[term]; !ok {
		tc.size++
	}
	t.counts[term] = n
}
