package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/vecmath"
	"github.com/ragd/ragd/store/scopedfts"
)

// openTest opens a store in a temporary directory for the package's own
// tests and closes it when tb ends: storetest.MustOpen, which they cannot
// import (storetest imports store).
func openTest(tb testing.TB, opts ...Option) *Store {
	tb.Helper()
	s, err := Open(filepath.Join(tb.TempDir(), FileName), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close the store: %v", err)
		}
	})
	return s
}

// MigrationsBefore makes Open apply only the migrations whose names sort
// before version, so that a test can build a database of an older ragd.
func MigrationsBefore(version string) Option { return func(s *Store) { s.migrateBefore = version } }

// CheckpointAt makes the store's WAL checkpoints start once it holds
// bytes (checkpointStart), their stride and limit in proportion, so that
// a test reaches them with little data.
func CheckpointAt(bytes int64) Option { return func(s *Store) { s.ckpt.at(bytes) } }

// CheckpointLimit is the WAL's size from which a commit checkpoints
// itself, for CheckpointAt(bytes).
func CheckpointLimit(bytes int64) int64 { return bytes * checkpointLimit / checkpointStart }

// VacuumStep is the pages one step of the background vacuum frees.
const VacuumStep = vacuumStep

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
		vecmath.Bytes(v), k, seq)
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

// SetBinaryFirstPass turns the 2-bit codes' first pass of quantized scans on
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
	args := []any{10, 100, scopedfts.Phrase(seq, "word"), 1, 100}
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

// SetKeywordSyncBlocks sets how many stale keyword blocks a search builds
// itself before it leaves the collection to the background builder.
func (s *Store) SetKeywordSyncBlocks(n int) { s.kwSyncBlocks = n }

// Ranked is one keyword ranking's chunk IDs and scores, best first.
type Ranked struct {
	IDs    []int64
	Scores []float64
}

func ranked(cands []candidate) Ranked {
	var r Ranked
	for _, c := range cands {
		r.IDs, r.Scores = append(r.IDs, c.id), append(r.Scores, c.score)
	}
	return r
}

// CachedKeyword ranks text's words in collection colID from the keyword
// cache alone; ok is false when the cache did not answer.
func (s *Store) CachedKeyword(ctx context.Context, ws, colID, text string, k int, allowed []int64) (r Ranked, ok bool, err error) {
	c, seq, err := s.collection(ctx, s.db, ws, colID)
	if err != nil {
		return r, false, err
	}
	cands, ok, err := s.cachedKeywordSearch(ctx, c, seq, queryWords(text), k, allowed, false)
	return ranked(cands), ok, err
}

// FTS5Keyword ranks text's words in collection colID by FTS5's
// bm25_scoped over every word, unpruned, in one range: the cache's oracle.
func (s *Store) FTS5Keyword(ctx context.Context, ws, colID, text string, k int, allowed []int64) (Ranked, error) {
	_, seq, err := s.collection(ctx, s.db, ws, colID)
	if err != nil {
		return Ranked{}, err
	}
	var st keywordStats
	if err := s.db.QueryRowContext(ctx, `SELECT keyword_rows, keyword_tokens FROM collections WHERE seq = ?`, seq).Scan(&st.rows, &st.tokens); err != nil {
		return Ranked{}, err
	}
	var phrases []string
	for _, w := range queryWords(text) {
		phrases = append(phrases, scopedfts.Phrase(seq, w))
	}
	cands, err := s.rankKeyword(ctx, st, strings.Join(phrases, " OR "), k, []rowidRange{{math.MinInt64, math.MaxInt64}}, allowed)
	return ranked(cands), err
}

// BuildKeywordCache builds the keyword cache of collection colID, as the
// background builder does.
func (s *Store) BuildKeywordCache(ctx context.Context, ws, colID string) error {
	c, seq, err := s.collection(ctx, s.db, ws, colID)
	if err != nil {
		return err
	}
	return s.buildKeywordCache(ctx, kwBuild{seq, c.ID})
}

// KeywordCacheBytes returns the bytes the keyword cache holds.
func (s *Store) KeywordCacheBytes() int64 {
	s.kws.mu.Lock()
	defer s.kws.mu.Unlock()
	return s.kws.bytes
}

// ZeroVectorFiles overwrites the floats of every record of the cached
// collections' vector files with zeros, keeping their rowids, so that a
// test can tell whether rescoring reads them.
func (s *Store) ZeroVectorFiles() error {
	return s.rewriteVectorRecords(func(rec []byte) { clear(rec[8:]) })
}

// BreakVectorFileRowids writes rowid -1 into every record of the cached
// collections' vector files, as if each slot had been rewritten since,
// so that tests can check that no search takes their floats.
func (s *Store) BreakVectorFileRowids() error {
	return s.rewriteVectorRecords(func(rec []byte) { binary.LittleEndian.PutUint64(rec, math.MaxUint64) })
}

// rewriteVectorRecords applies edit to every record of the cached
// collections' vector files.
func (s *Store) rewriteVectorRecords(edit func(rec []byte)) error {
	s.vecs.mu.Lock()
	defer s.vecs.mu.Unlock()
	for _, vc := range s.vecs.cols {
		vf := vc.file
		if vf == nil || vf.f == nil {
			continue
		}
		vf.mu.Lock()
		st, err := vf.f.Stat()
		if err == nil {
			rec := make([]byte, vf.recordSize())
			for off := int64(0); off+int64(len(rec)) <= st.Size() && err == nil; off += int64(len(rec)) {
				if _, err = vf.f.ReadAt(rec, off); err == nil {
					edit(rec)
					_, err = vf.f.WriteAt(rec, off)
				}
			}
		}
		vf.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// SetVectorFiles turns the quantized collections' vector files on or off,
// dropping the vector cache, so that benchmarks can measure rescoring
// through sqlite-vec beside them.
func (s *Store) SetVectorFiles(on bool) {
	s.vecs.closeAll()
	s.vecs.mu.Lock()
	defer s.vecs.mu.Unlock()
	s.vecs.dir = ""
	if on {
		s.vecs.dir = filepath.Dir(s.path)
	}
}

// HoldVectorLoad takes the vector cache's load of collection colID of
// workspace ws, cached already, as a search that loads it would, until
// release is called: tests then see what a search does meanwhile.
func (s *Store) HoldVectorLoad(ctx context.Context, ws, colID string) (release func(), err error) {
	_, seq, err := s.collection(ctx, s.db, ws, colID)
	if err != nil {
		return nil, err
	}
	s.vecs.mu.Lock()
	vc := s.vecs.cols[seq]
	s.vecs.mu.Unlock()
	if vc == nil {
		return nil, errors.New("the collection is not cached")
	}
	vc.syncing <- struct{}{}
	return func() { <-vc.syncing }, nil
}

// PlanesPacked returns how many chunks the vector cache holds of
// collection colID of workspace ws and how many of those have their
// 2-bit codes and factors in one arena, each chunk's right after the
// previous one's in chunk order (packPlanes); a packed chunk that does
// not follow the previous packed one is an error.
func (s *Store) PlanesPacked(ctx context.Context, ws, colID string) (packed, total int, err error) {
	_, seq, err := s.collection(ctx, s.db, ws, colID)
	if err != nil {
		return 0, 0, err
	}
	s.vecs.mu.Lock()
	vc := s.vecs.cols[seq]
	s.vecs.mu.Unlock()
	if vc == nil {
		return 0, 0, errors.New("the collection is not cached")
	}
	vc.mu.Lock()
	defer vc.mu.Unlock()
	var prev *vecChunk
	for _, ch := range vc.list {
		if !ch.packed {
			prev = nil
			continue
		}
		packed++
		follows := func(a, b unsafe.Pointer, size int) bool { return unsafe.Add(a, size) == b }
		if prev != nil && len(prev.bits) > 0 && len(ch.bits) > 0 &&
			(!follows(unsafe.Pointer(&prev.bits[0]), unsafe.Pointer(&ch.bits[0]), 8*len(prev.bits)) ||
				!follows(unsafe.Pointer(&prev.fac[0]), unsafe.Pointer(&ch.fac[0]), 4*len(prev.fac))) {
			return packed, len(vc.list), fmt.Errorf("chunk %d's planes do not follow chunk %d's", ch.id, prev.id)
		}
		prev = ch
	}
	return packed, len(vc.list), nil
}
