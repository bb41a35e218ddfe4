package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/ragd/ragd"
)

// MigrationsBefore makes Open apply only the migrations whose names sort
// before version, so that a test can build a database of an older ragd.
func MigrationsBefore(version string) Option { return func(s *Store) { s.migrateBefore = version } }

// SetDiskScanBatch sets how many sqlite-vec chunks a scan from the
// database reads per batch, so that tests can make small collections span
// several batches.
func (s *Store) SetDiskScanBatch(n int) { s.diskScanBatch = n }

// SqliteVecSearch runs sqlite-vec's own KNN for the k vectors of
// collection colID of workspace ws nearest to v: the peer of ragd's scans
// in benchmarks.
func (s *Store) SqliteVecSearch(ctx context.Context, ws, colID string, v []float32, k int) (int, error) {
	c, seq, err := s.collection(ctx, s.db, ws, colID)
	if err != nil {
		return 0, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT rowid, distance FROM `+vecTable(c.Dimensions)+` WHERE embedding MATCH ? AND k = ? AND collection = ? ORDER BY distance`,
		encodeVector(v), k, seq)
	if err != nil {
		return 0, err
	}
	cands, err := scanCandidates(rows, func(d float64) float64 { return d })
	return len(cands), err
}

// SetQuantizeAbove sets the size of a collection's float vectors from
// which the vector cache holds int8 codes, so that tests can quantize
// small collections.
func (s *Store) SetQuantizeAbove(n int64) { s.quantizeAbove = n }

// SetBinaryFirstPass turns the sign bits' first pass of quantized scans on
// or off, so that benchmarks can measure the int8 codes alone beside it.
func (s *Store) SetBinaryFirstPass(on bool) { s.binaryFirst = on }

// CachedVectorBytes returns the bytes of vectors the vector cache holds.
func (s *Store) CachedVectorBytes() int64 {
	s.vecs.mu.Lock()
	defer s.vecs.mu.Unlock()
	return s.vecs.bytes
}

// SetKeywordSplitRows sets the smallest collection whose keyword queries
// are ranked in parallel, so that tests can split small collections.
func (s *Store) SetKeywordSplitRows(n int) { s.keywordSplitRows = n }

// KeywordRanges returns how many rowid ranges a keyword query over
// collection colID of workspace ws is split into.
func (s *Store) KeywordRanges(ctx context.Context, ws, colID string) (int, error) {
	c, seq, err := s.collection(ctx, s.db, ws, colID)
	if err != nil {
		return 0, err
	}
	r, err := s.rowidRanges(ctx, c, seq)
	return len(r), err
}

// TermVersion returns the version of the keyword rows of collection colID
// of workspace ws, under which term counts are cached.
func (s *Store) TermVersion(ctx context.Context, ws, colID string) (string, error) {
	_, seq, err := s.collection(ctx, s.db, ws, colID)
	if err != nil {
		return "", err
	}
	return s.termVersion(ctx, seq)
}

// FilterPlan returns SQLite's query plan for the chunks of collection
// colID passing f, one step a line.
func (s *Store) FilterPlan(ctx context.Context, f *ragd.Filter, colID string) (string, error) {
	query, args := filterQuery(f, colID)
	return s.plan(ctx, query, args...)
}

// KeywordPlan returns SQLite's plan for the keyword ranking of collection
// colID of workspace ws, with or without a filter.
func (s *Store) KeywordPlan(ctx context.Context, ws, colID string, filtered bool) (string, error) {
	_, seq, err := s.collection(ctx, s.db, ws, colID)
	if err != nil {
		return "", err
	}
	args := []any{10, 100, ftsTerms(seq, "word")[0], 1, 100}
	if filtered {
		args = append(args, "[1,2,3]")
	}
	return s.plan(ctx, keywordQuery(filtered), append(args, 10)...)
}

// plan returns SQLite's query plan for query with args, one step a line.
func (s *Store) plan(ctx context.Context, query string, args ...any) (string, error) {
	rows, err := s.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "\n"), rows.Err()
}

// LoadSchema opens a new reader connection and runs one statement on it,
// so that SQLite reads the whole schema, as each pooled reader does before
// its next statement after another connection changed the schema.
func (s *Store) LoadSchema(ctx context.Context) error {
	db, err := sql.Open(driverName, "file:"+s.path+"?_query_only=1")
	if err != nil {
		return err
	}
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM collections`).Scan(&n)
	return errors.Join(err, db.Close())
}

// FilterAnswers returns how many filter answers s keeps.
func FilterAnswers(s *Store) int { return s.filters.lru.Len() }

// Writes returns the write transactions s counted (Store.writes).
func Writes(s *Store) uint64 { return s.writes.Load() }

// FilterIDs returns the sorted IDs of the chunks of collection colID that
// pass f.
func (s *Store) FilterIDs(ctx context.Context, f *ragd.Filter, colID string) ([]int64, error) {
	return s.filterIDs(ctx, f, colID)
}
