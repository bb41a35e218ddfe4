package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/ragd/ragd"
)

// MaxTopK is the largest top_k a search accepts.
const MaxTopK = 100

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
// (0..+inf); hybrid, the relative-score-fusion score (0..1): the mean of
// the vector and keyword scores, each min-max normalised over its
// candidates.
func (s *Store) Search(ctx context.Context, ws, colID string, q SearchQuery) ([]SearchResult, error) {
	if q.TopK < 1 || q.TopK > MaxTopK {
		return nil, ragd.Invalid("top_k", "top_k must be between 1 and %d, got %d", MaxTopK, q.TopK)
	}
	if q.Alpha != nil && (*q.Alpha < 0 || *q.Alpha > 1) {
		return nil, ragd.Invalid("alpha", "alpha (the weight of the vector ranking in hybrid search) must be between 0 and 1, got %v", *q.Alpha)
	}
	c, seq, err := s.collection(ctx, s.db, ws, colID)
	if err != nil {
		return nil, err
	}
	cond, args, err := filterSQL(q.Filter)
	if err != nil {
		return nil, err
	}
	var filter, within string // the chunks passing the filter, and a condition restricting a search to them
	if q.Filter != nil {
		// Driven from the collection's items (index items_collection), so
		// the filter reads this collection's rows only.
		filter = `SELECT c.id FROM items i JOIN chunks c ON c.item_id = i.id
			LEFT JOIN files fl ON fl.id = i.file_id WHERE i.collection_id = ? AND (` + cond + `)`
		within = ` AND rowid IN (` + filter + `)`
		args = append([]any{c.ID}, args...)
	}
	var cands []candidate
	switch q.Mode {
	case ModeVector:
		cands, err = s.vectorSearch(ctx, c, seq, q.Vector, q.TopK, filter, within, args)
	case ModeKeyword:
		cands, err = s.keywordSearch(ctx, c, seq, q.Text, q.TopK, within, args)
	case ModeHybrid, "":
		// Each ranking contributes its head; a deeper head lets a chunk
		// that is second-best in both rankings win.
		n := max(q.TopK*4, 40)
		var vc, kc []candidate
		if vc, err = s.vectorSearch(ctx, c, seq, q.Vector, n, filter, within, args); err == nil {
			kc, err = s.keywordSearch(ctx, c, seq, q.Text, n, within, args)
		}
		alpha := DefaultAlpha
		if q.Alpha != nil {
			alpha = *q.Alpha
		}
		cands = fuse(q.TopK, alpha, vc, kc)
	default:
		return nil, ragd.Invalid("mode", "unknown search mode %q; use hybrid, vector or keyword", q.Mode)
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

// vectorSearch returns the k chunks nearest to v, restricted to those
// selected by filter (with filterArgs) when it is not empty. The scan is
// exact: from the vector cache at memory bandwidth (vecscan.go), or with
// sqlite-vec's KNN when the collection does not fit the cache.
func (s *Store) vectorSearch(ctx context.Context, c *Collection, seq int64, v []float32, k int, filter, within string, filterArgs []any) ([]candidate, error) {
	if len(v) != c.Dimensions {
		return nil, &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "dimension_mismatch",
			Message: fmt.Sprintf("query vector has %d dimensions but collection %s (model %s) stores %d", len(v), c.ID, c.EmbeddingModel, c.Dimensions)}
	}
	if cands, ok, err := s.cachedVectorSearch(ctx, seq, v, k, c.ChunkCount, filter, filterArgs); ok {
		return cands, err
	}
	args := append([]any{encodeVector(v), k}, filterArgs...)
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf(`SELECT rowid, distance FROM vec_c%d WHERE embedding MATCH ? AND k = ?%s ORDER BY distance`, seq, within), args...)
	if err != nil {
		return nil, err
	}
	return scanCandidates(rows, func(d float64) float64 { return 1 - d*d/2 })
}

// minPruneRows is the smallest collection whose keyword queries are pruned
// of terms found in half its chunks; below it every query is cheap.
const minPruneRows = 2000

func (s *Store) keywordSearch(ctx context.Context, c *Collection, seq int64, text string, k int, within string, filterArgs []any) ([]candidate, error) {
	terms := ftsTerms(text)
	if len(terms) == 0 {
		return nil, nil
	}
	run := func(terms []string) ([]candidate, error) {
		args := append([]any{strings.Join(terms, " OR ")}, filterArgs...)
		args = append(args, k)
		rows, err := s.db.QueryContext(ctx, fmt.Sprintf(`SELECT rowid, bm25(fts_c%d) FROM fts_c%d WHERE fts_c%d MATCH ?%s ORDER BY rank LIMIT ?`, seq, seq, seq, within), args...)
		if err != nil {
			return nil, err
		}
		return scanCandidates(rows, func(b float64) float64 { return -b })
	}
	if c.ChunkCount >= minPruneRows && len(terms) > 1 {
		kept, err := s.rareTerms(ctx, seq, terms, c.ChunkCount)
		if err != nil {
			return nil, err
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

// rareTerms returns the terms found in fewer than half of the rows of
// collection table seq (or, when there is none, the rarest term).
//
// FTS5's BM25 gives a term in half the rows or more an idf of 1e-6, so
// such a term moves no score by more than ~2e-6, yet scoring it makes
// FTS5 rank nearly every row. Counting stops at half the rows, so a
// common term costs one pass over half its doclist, without ranking.
func (s *Store) rareTerms(ctx context.Context, seq int64, terms []string, rows int) ([]string, error) {
	half := (rows + 1) / 2
	var kept []string
	rarest, rarestCount := "", half+1
	for _, t := range terms {
		var n int
		err := s.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM (SELECT 1 FROM fts_c%d WHERE fts_c%d MATCH ? LIMIT ?)`, seq, seq), t, half).Scan(&n)
		if err != nil {
			return nil, err
		}
		if n < half {
			kept = append(kept, t)
		}
		if n < rarestCount {
			rarest, rarestCount = t, n
		}
	}
	if len(kept) == 0 {
		kept = []string{rarest}
	}
	return kept, nil
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

// ftsTerms turns free text into FTS5 query terms, matched with OR: its
// distinct words, each quoted so that no word is read as FTS5 syntax.
// Stopwords are left out unless the query has nothing else: their BM25
// weight is next to nothing, but matching them makes FTS5 score nearly
// every row.
func ftsTerms(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
	content := words[:0:0]
	for _, w := range words {
		if !IsStopword(w) {
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
			terms = append(terms, `"`+w+`"`)
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
	sort.Slice(out, func(i, j int) bool {
		if out[i].score != out[j].score {
			return out[i].score > out[j].score
		}
		return out[i].id < out[j].id
	})
	if len(out) > k {
		out = out[:k]
	}
	return out
}

// hydrate loads the chunks and items of cands, keeping their order.
func (s *Store) hydrate(ctx context.Context, cands []candidate) ([]SearchResult, error) {
	if len(cands) == 0 {
		return []SearchResult{}, nil
	}
	marks := make([]string, len(cands))
	args := make([]any, len(cands))
	for i, cd := range cands {
		marks[i], args[i] = "?", cd.id
	}
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, c.item_id, i.file_id, fl.filename, c.content, i.description,
		i.metadata, i.created, c.idx, c.page FROM chunks c JOIN items i ON i.id = c.item_id
		LEFT JOIN files fl ON fl.id = i.file_id WHERE c.id IN (`+strings.Join(marks, ",")+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := make(map[int64]SearchResult, len(cands))
	for rows.Next() {
		var r SearchResult
		var id int64
		var fileID, filename sql.NullString
		var meta string
		if err := rows.Scan(&id, &r.ItemID, &fileID, &filename, &r.Content, &r.Description, &meta, &r.Created,
			&r.Position.Chunk, &r.Position.Page); err != nil {
			return nil, err
		}
		if fileID.Valid {
			r.FileID = &fileID.String
		}
		if filename.Valid {
			r.Filename = &filename.String
		}
		if r.Metadata, err = decodeMetadata(meta); err != nil {
			return nil, err
		}
		r.ID = fmt.Sprintf("chunk_%d", id)
		byID[id] = r
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]SearchResult, 0, len(cands))
	for _, cd := range cands {
		if r, ok := byID[cd.id]; ok {
			r.Score = cd.score
			out = append(out, r)
		}
	}
	return out, nil
}
