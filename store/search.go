package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/scopedfts"
)

// candidate is a chunk found by one search mode, best first.
type candidate struct {
	id    int64
	score float64
}

// Search searches collection colID of workspace ws and returns up to
// q.TopK results, best first.
//
// Scores by mode: vector, the cosine similarity of the query and chunk
// vectors (-1..1); keyword, FTS5's BM25 negated so that higher is better
// (0..+inf); hybrid, the relative-score-fusion score (0..1): alpha times
// the vector score plus 1-alpha times the keyword score, each min-max
// normalised over its candidates (see fuse).
func (s *Store) Search(ctx context.Context, ws, colID string, q ragd.SearchQuery) ([]ragd.SearchResult, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	c, seq, err := s.collection(ctx, s.db, ws, colID)
	if err != nil {
		return nil, err
	}
	return s.search(ctx, c, seq, q)
}

// SearchCollection is Search of collection c as its caller read it a
// moment before (Collection), without reading its row again: a search
// through the service reads it first to embed the query with the
// collection's model, and the second read cost 30-130 us of a 1.6 ms
// vector search at 100k chunks. Its row is no more current in Search,
// which reads it outside the search's own reads.
func (s *Store) SearchCollection(ctx context.Context, c *ragd.Collection, q ragd.SearchQuery) ([]ragd.SearchResult, error) {
	seq, ok := s.seqs.Load(c.ID)
	if !ok { // not read through this store since it opened
		return s.Search(ctx, c.Workspace, c.ID, q)
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return s.search(ctx, c, seq.(int64), q)
}

// search is Search of collection c of seq seq.
func (s *Store) search(ctx context.Context, c *ragd.Collection, seq int64, q ragd.SearchQuery) ([]ragd.SearchResult, error) {
	var err error
	if q.Mode != ragd.ModeKeyword && len(q.Vector) != c.Dimensions {
		return nil, &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "dimension_mismatch",
			Message: fmt.Sprintf("query vector has %d dimensions but collection %s (model %s) stores %d", len(q.Vector), c.ID, c.EmbeddingModel, c.Dimensions)}
	}
	// The chunks passing the filter, selected once for both rankings.
	var allowed []int64 // sorted; nil without a filter
	if q.Filter != nil {
		if allowed, err = s.filterIDs(ctx, q.Filter, c.ID); err != nil {
			return nil, err
		}
		if len(allowed) == 0 {
			return s.hydrate(ctx, nil)
		}
	}
	var cands []candidate
	switch q.Mode {
	case ragd.ModeVector:
		cands, err = s.vectorSearch(ctx, c, seq, q.Vector, q.TopK, allowed, q.Exact)
	case ragd.ModeKeyword:
		cands, err = s.keywordSearch(ctx, c, seq, q.Text, q.TopK, allowed, false)
	case ragd.ModeHybrid, "":
		// Each ranking contributes its head; a deeper head lets a chunk
		// that is second-best in both rankings win. The two run at once:
		// FTS5 ranks on its own connections while the vector scan runs.
		n := max(cmp.Or(q.PoolTopK, q.TopK)*4, 40, q.TopK)
		var vc, kc []candidate
		var kerr error
		var wg sync.WaitGroup
		wg.Go(func() { kc, kerr = s.keywordSearch(ctx, c, seq, q.Text, n, allowed, true) })
		vc, err = s.vectorSearch(ctx, c, seq, q.Vector, n, allowed, q.Exact)
		wg.Wait()
		err = cmp.Or(err, kerr)
		alpha := ragd.DefaultAlpha
		if q.Alpha != nil {
			alpha = *q.Alpha
		}
		cands = fuse(q.TopK, alpha, vc, kc)
	}
	if err != nil {
		return nil, err
	}
	if q.ScoreThreshold != nil {
		kept := cands[:0]
		for _, cd := range cands {
			if cd.score >= *q.ScoreThreshold {
				kept = append(kept, cd)
			}
		}
		cands = kept
	}
	return s.hydrate(ctx, cands)
}

// vectorSearch returns the k chunks nearest to v, which has the
// collection's dimensions, restricted to the sorted IDs allowed unless it
// is nil: from the vector cache at memory bandwidth (vecscan.go), exact,
// or for a large collection by its int8 codes and then exactly among the
// nearest, or read from the database by the same code when the collection
// does not fit the cache (or is quantized and exact is set).
func (s *Store) vectorSearch(ctx context.Context, c *ragd.Collection, seq int64, v []float32, k int, allowed []int64, exact bool) ([]candidate, error) {
	if cands, ok, err := s.cachedVectorSearch(ctx, c, seq, v, k, allowed, exact); ok {
		return cands, err
	}
	return s.diskVectorSearch(ctx, seq, v, k, allowed)
}

// minPruneRows is the smallest collection whose keyword queries are pruned
// of terms found in half its chunks; below it every query is cheap.
const minPruneRows = 2000

// defaultKeywordSplitRows is the default smallest collection whose
// keyword queries are ranked in parallel, one rowid range per core
// (docs/benchmarks.md): FTS5 computes BM25 for every matching row, about
// 0.6 us each, before it sorts.
const defaultKeywordSplitRows = 10_000

// keywordSearch returns the k chunks with the best BM25 for text,
// restricted to the IDs allowed unless it is nil.
//
// With informative set (hybrid search), a query whose every term is in
// half the rows or more of a collection of minPruneRows or more finds
// nothing: FTS5 weighs such terms at 1e-6, so their ranking orders chunks
// by term frequency and length alone, and min-max normalisation in fuse
// would give that noise the keyword ranking's full weight.
func (s *Store) keywordSearch(ctx context.Context, c *ragd.Collection, seq int64, text string, k int, allowed []int64, informative bool) ([]candidate, error) {
	words := queryWords(text)
	if len(words) == 0 {
		return nil, nil
	}
	if cands, ok, err := s.cachedKeywordSearch(ctx, c, seq, words, k, allowed, informative); ok {
		return cands, err
	}
	terms := make([]string, len(words))
	for i, w := range words {
		terms[i] = scopedfts.Phrase(seq, w)
	}
	ranges, err := s.rowidRanges(ctx, c, seq)
	if err != nil {
		return nil, err
	}
	var st keywordStats
	if err := s.db.QueryRowContext(ctx, `SELECT keyword_rows, keyword_tokens FROM collections WHERE seq = ?`, seq).Scan(&st.rows, &st.tokens); err != nil {
		return nil, err
	}
	run := func(terms []string) ([]candidate, error) {
		return s.rankKeyword(ctx, st, strings.Join(terms, " OR "), k, ranges, allowed)
	}
	if c.ChunkCount >= minPruneRows && (len(terms) > 1 || informative) {
		kept, rarest, err := s.rareTerms(ctx, seq, terms, c.ChunkCount)
		if err != nil {
			return nil, err
		}
		if len(kept) == 0 {
			if informative {
				return nil, nil
			}
			kept = []string{rarest}
		}
		if len(kept) < len(terms) {
			cands, err := run(kept)
			if err != nil || len(cands) >= k {
				return cands, err
			}
		}
	}
	return run(terms)
}

// rowidRange is an inclusive range of rowids.
type rowidRange struct{ lo, hi int64 }

// rowidRanges splits the chunk IDs of collection c into one range per core
// when collection c has at least s.keywordSplitRows chunks, and returns a
// single range covering every rowid otherwise.
func (s *Store) rowidRanges(ctx context.Context, c *ragd.Collection, seq int64) ([]rowidRange, error) {
	all := []rowidRange{{math.MinInt64, math.MaxInt64}}
	parts := int64(runtime.GOMAXPROCS(0))
	if c.ChunkCount < s.keywordSplitRows || parts < 2 {
		return all, nil
	}
	var lo, hi sql.NullInt64
	// min and max of an index prefix, each alone in its SELECT, are two
	// b-tree descents (min and max in one SELECT scan the range).
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT min(id) FROM chunks WHERE collection_id = ?1), (SELECT max(id) FROM chunks WHERE collection_id = ?1)`,
		c.ID).Scan(&lo, &hi)
	if err != nil || !lo.Valid || hi.Int64-lo.Int64 < parts {
		return all, err
	}
	ranges := make([]rowidRange, parts)
	width := (hi.Int64 - lo.Int64 + 1) / parts
	for i := range ranges {
		ranges[i] = rowidRange{lo.Int64 + int64(i)*width, lo.Int64 + int64(i+1)*width - 1}
	}
	ranges[0].lo, ranges[parts-1].hi = math.MinInt64, math.MaxInt64
	return ranges, nil
}

// keywordStats is what BM25 takes of a collection: its keyword rows and
// their tokens.
type keywordStats struct{ rows, tokens int64 }

// rankKeyword returns the k chunks with the best BM25, in a collection of
// keyword statistics st, for the FTS5 query match (phrases scoped to the
// collection), restricted to the IDs allowed unless it is nil. Each rowid
// range is ranked on its own reader connection, all at once. BM25 is the
// same whatever the range: bm25_scoped computes its IDF over the whole
// collection and takes its row count and average length from st. Ties are broken by rowid, so the merged
// head of the ranges' heads is exactly the head of one ranking over all of
// them.
func (s *Store) rankKeyword(ctx context.Context, st keywordStats, match string, k int, ranges []rowidRange, allowed []int64) ([]candidate, error) {
	query := keywordQuery(allowed != nil)
	heads := make([][]candidate, len(ranges))
	err := parallel(len(ranges), func(i int) error {
		args := []any{st.rows, st.tokens, match, ranges[i].lo, ranges[i].hi}
		if allowed != nil {
			// Each range gets the allowed IDs it holds: SQLite builds an
			// index of them per query (about 0.45 us an ID).
			from, _ := slices.BinarySearch(allowed, ranges[i].lo)
			to, found := slices.BinarySearch(allowed, ranges[i].hi)
			if found {
				to++
			}
			if from == to {
				return nil
			}
			args = append(args, jsonIDs(allowed[from:to]))
		}
		rows, err := s.db.QueryContext(ctx, query, append(args, k)...)
		if err == nil {
			heads[i], err = scanCandidates(rows, func(b float64) float64 { return -b })
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return bestOf(slices.Concat(heads...), k), nil
}

// rareTerms returns the terms found in fewer than half of the rows of
// collection seq, and the rarest term.
//
// FTS5's BM25 gives a term in half the rows or more an idf of 1e-6, so
// such a term moves no score by more than ~2e-6, yet scoring it makes
// FTS5 rank nearly every row. Counting stops at half the rows, so a
// common term costs one pass over half its doclist, without ranking.
//
// The counts are cached (termcounts.go): only terms the collection's
// current version has not seen yet are counted.
func (s *Store) rareTerms(ctx context.Context, seq int64, terms []string, rows int) (kept []string, rarest string, err error) {
	half := (rows + 1) / 2
	version, err := s.termVersion(ctx, seq)
	if err != nil {
		return nil, "", err
	}
	version = countsVersion(half, version)
	counts := make([]int, len(terms))
	var missing []int
	for i, t := range terms {
		var ok bool
		if counts[i], ok = s.terms.get(seq, version, t); !ok {
			missing = append(missing, i)
		}
	}
	query := `SELECT (SELECT count(*) FROM (SELECT 1 FROM fts_chunks WHERE fts_chunks MATCH ? LIMIT ?)), ` + versionSQL
	err = parallel(len(missing), func(j int) error {
		i := missing[j]
		var v string
		if err := s.db.QueryRowContext(ctx, query, terms[i], half, seq).Scan(&counts[i], &v); err != nil {
			return err
		}
		s.terms.put(seq, countsVersion(half, v), terms[i], counts[i])
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	for i, t := range terms {
		if counts[i] < half {
			kept = append(kept, t)
		}
	}
	return kept, terms[slices.Index(counts, slices.Min(counts))], nil
}

// keywordQuery is the SQL ranking the matches of a collection's FTS5 query
// within a rowid range, with arguments the collection's keyword rows and
// tokens, the query, the range's first and last rowid, when filtered a
// JSON array of the allowed rowids, and the limit.
//
// SQLite checks FTS5's matches against the allowed rowids before it
// computes their BM25. +rowid keeps that list out of FTS5's plan: given
// rowid IN (...) as a constraint, FTS5 runs the whole query once per
// rowid, 20 s for 20,000 rowids at 100k chunks (TestKeywordFilterPlan).
func keywordQuery(filtered bool) string {
	var within string
	if filtered {
		within = ` AND +rowid IN (SELECT value FROM json_each(?))`
	}
	return `SELECT rowid, bm25_scoped(fts_chunks, ?, ?) AS score FROM fts_chunks WHERE fts_chunks MATCH ? AND rowid BETWEEN ? AND ?` + within + `
		ORDER BY score, rowid LIMIT ?`
}

// jsonIDs returns ids as a JSON array.
func jsonIDs(ids []int64) string {
	b := []byte{'['}
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// parallel calls f(0) ... f(n-1), as many at once as there are cores, and
// returns the first error.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = f(i)
		})
	}
	wg.Wait()
	return cmp.Or(errs...)
}

func scanCandidates(rows *sql.Rows, score func(float64) float64) ([]candidate, error) {
	defer rows.Close()
	var out []candidate
	for rows.Next() {
		var cd candidate
		var raw float64
		if err := rows.Scan(&cd.id, &raw); err != nil {
			return nil, err
		}
		cd.score = score(raw)
		out = append(out, cd)
	}
	return out, rows.Err()
}

// queryWords turns free text into keyword query terms, matched with OR:
// its distinct words, at most 64, each made an FTS5 phrase scoped to the
// collection, so that no word is read as FTS5 syntax. Stopwords are left
// out unless the query has nothing else: their BM25 weight is next to
// nothing, but matching them makes FTS5 score nearly every row.
func queryWords(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
	content := words[:0:0]
	for _, w := range words {
		if !ragd.IsStopword(w) {
			content = append(content, w)
		}
	}
	if len(content) > 0 {
		words = content
	}
	seen := make(map[string]bool, len(words))
	var terms []string
	for _, w := range words {
		if !seen[w] && len(terms) < 64 {
			seen[w] = true
			terms = append(terms, w)
		}
	}
	return terms
}

// fuse merges the vector and keyword rankings by relative score fusion:
// each ranking's scores are min-max normalised to 0..1 over its
// candidates, a chunk's fused score is alpha times its normalised vector
// score plus 1-alpha times its normalised keyword score (0 where a ranking
// lacks it), and the best k are kept. Unlike reciprocal rank fusion it keeps how far apart
// the scores are, so a weak ranking's near-ties do not outvote a strong
// ranking's clear winner (docs/benchmarks.md has the comparison).
func fuse(k int, alpha float64, vector, keyword []candidate) []candidate {
	scores := map[int64]float64{}
	for _, r := range []struct {
		list   []candidate
		weight float64
	}{{vector, alpha}, {keyword, 1 - alpha}} {
		if len(r.list) == 0 {
			continue
		}
		lo, hi := r.list[len(r.list)-1].score, r.list[0].score
		for _, cd := range r.list {
			n := 1.0
			if hi > lo {
				n = (cd.score - lo) / (hi - lo)
			}
			scores[cd.id] += r.weight * n
		}
	}
	out := make([]candidate, 0, len(scores))
	for id, sc := range scores {
		out = append(out, candidate{id: id, score: sc})
	}
	return bestOf(out, k)
}

// bestOf sorts cands by score, best first, ties by id, and keeps the first k.
func bestOf(cands []candidate, k int) []candidate {
	slices.SortFunc(cands, func(a, b candidate) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	return cands[:min(k, len(cands))]
}

// hydrate loads the chunks and items of cands, keeping their order.
func (s *Store) hydrate(ctx context.Context, cands []candidate) ([]ragd.SearchResult, error) {
	if len(cands) == 0 {
		return []ragd.SearchResult{}, nil
	}
	marks := make([]string, len(cands))
	args := make([]any, len(cands))
	for i, cd := range cands {
		marks[i], args[i] = "?", cd.id
	}
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, c.item_id, i.file_id, fl.filename, c.content, i.description,
		i.metadata, i.created, c.idx, c.page, c.section FROM chunks c JOIN items i ON i.id = c.item_id
		LEFT JOIN files fl ON fl.id = i.file_id WHERE c.id IN (`+strings.Join(marks, ",")+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := make(map[int64]ragd.SearchResult, len(cands))
	for rows.Next() {
		var r ragd.SearchResult
		var id int64
		var fileID, filename sql.NullString
		var meta string
		if err := rows.Scan(&id, &r.ItemID, &fileID, &filename, &r.Content, &r.Description, &meta, &r.Created,
			&r.Position.Chunk, &r.Position.Page, &r.Position.Section); err != nil {
			return nil, err
		}
		if fileID.Valid {
			r.FileID = &fileID.String
		}
		if filename.Valid {
			r.Filename = &filename.String
		}
		r.Metadata = s.decodeMetadata(meta)
		r.ID = fmt.Sprintf("chunk_%d", id)
		byID[id] = r
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]ragd.SearchResult, 0, len(cands))
	for _, cd := range cands {
		if r, ok := byID[cd.id]; ok {
			r.Score = cd.score
			out = append(out, r)
		}
	}
	return out, nil
}
