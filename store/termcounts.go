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
// Counts are cached per keyword table under the table's version: FTS5's
// averages record (row count and token totals, %_data id 1) and structure
// record (its segments, id 10), hex-encoded. Every committed write to an
// FTS5 table rewrites the structure record (an insert flushes a new
// segment; a delete adds a tombstone to a segment), so a version names
// one set of rows (TestTermCountsFollowWrites). Each count is read in the
// same statement, so the same snapshot, as the version it is cached under.
type termCounts struct {
	mu     sync.Mutex
	tables map[int64]*tableTerms // by collection seq
	size   int                   // cached counts over all tables
}

// tableTerms is the cached term counts of one version of one table.
type tableTerms struct {
	version string
	counts  map[string]int
}

// maxTermCounts bounds the cache; past it, it starts over.
const maxTermCounts = 1 << 17

// versionSQL is an expression giving the version of keyword table %[1]d.
const versionSQL = `coalesce((SELECT hex(block) FROM fts_c%[1]d_data WHERE id = 1), '') || '/' ||
	coalesce((SELECT hex(block) FROM fts_c%[1]d_data WHERE id = 10), '')`

// countsVersion is the cache version of counts that stop at half in
// keyword table version v.
func countsVersion(half int, v string) string { return fmt.Sprint(half, ":", v) }

// termVersion returns the current version of keyword table seq.
func (s *Store) termVersion(ctx context.Context, seq int64) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT `+versionSQL, seq)).Scan(&v)
	return v, err
}

// get returns the cached count of term in version of table seq.
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

// put caches the count of term in version of table seq, replacing the
// counts of the table's other versions.
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
