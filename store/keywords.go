package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/scopedfts"
)

// DefaultKeywordCacheBytes is the default memory budget of the keyword
// cache.
const DefaultKeywordCacheBytes = 1 << 30

// The keyword cache ranks keyword queries without FTS5's cost.
//
// FTS5 has no top-k pruning: it computes BM25 for every row holding any
// query term, about 0.6 us a row, so a query with a term in a quarter of
// a million chunks costs 150 ms. The cache holds each searched
// collection's postings in memory, in blocks of the chunk IDs sharing
// id >> kwBlockShift, each term of a block with its highest frequency and
// the shortest row holding it: an upper bound of its BM25 in the block.
// A query visits blocks best bound first and, within a block, reads the
// postings of only the terms that can still lift a row into the top k
// (MaxScore, over block-max bounds); the rest are looked up for the rows
// that might make it. Scores are computed as bm25_scoped computes them,
// term by term in query order with the C code's IDF, so rankings and
// scores equal FTS5's BM25 over every query term (TestKeywordCacheMatchesFTS5).
//
// Postings come from the tokens FTS5 indexed (fts_terms, the scoped
// tokenizer's own) and the row lengths in its %_docsize, read again when
// a block changes: every change of a collection's keyword rows writes the
// changed blocks' version (the collection's index_writes) into
// keyword_blocks in the same transaction (index.go). A search reads those
// versions in its own read transaction and rebuilds the blocks whose
// version moved, so it ranks exactly its snapshot. Past s.kwSyncBlocks
// stale blocks, as on a collection's first keyword query, the search is
// FTS5's and a background builder fills the cache.
type kwCache struct {
	mu      sync.Mutex
	budget  int64
	bytes   int64
	tick    int64
	cols    map[int64]*kwCollection // by collection seq
	pending map[int64]bool          // builds requested, by seq
	// refused holds the collections left to FTS5 (larger than the budget,
	// or a row the cache cannot hold) with their size when refused
	// (kwSize), so that they are not built again until it changes;
	// deleted collections, whose seq never returns, are refused for good.
	refused map[int64]string
}

// kwDeleted is the size refused gives a deleted collection.
const kwDeleted = "deleted"

// kwSize names a collection's keyword rows and tokens, which any change
// of its keyword rows changes.
func kwSize(rows, tokens int64) string { return fmt.Sprint(rows, ":", tokens) }

// kwBlockShift sets the blocks' size: 4,096 chunk IDs, so a row's place in
// its block fits a uint16 and a block's scratch arrays stay in L2.
const kwBlockShift = 12

// kwBlockIDs is the number of chunk IDs a block spans.
const kwBlockIDs = 1 << kwBlockShift

// defaultKeywordSyncBlocks is the most stale blocks a search rebuilds
// itself (about 15 ms each at 480 tokens a row); more go to the builder.
const defaultKeywordSyncBlocks = 8

// kwCollection is the cached postings of one collection.
type kwCollection struct {
	mu       sync.Mutex
	dict     map[string]uint32 // term IDs
	count    []uint32          // buildLocked's scratch, by term ID, zero between builds
	blocks   map[int64]*kwBlock
	bytes    int64 // blocks and dictionary, under mu
	charged  int64 // bytes as the cache counts them, under the cache's mu
	lastUsed int64
}

// kwBlock is the postings of one block at one version. It is never
// changed once built, so a search reads it without locks.
type kwBlock struct {
	block   int64
	version int64
	docs    []uint16 // rows: chunk ID - block<<kwBlockShift, ascending
	lens    []uint32 // each row's token count, as FTS5 counts it
	terms   []uint32 // term IDs, ascending
	starts  []uint32 // postings of terms[i]: post[starts[i]:starts[i+1]]
	post    []uint16 // row indexes into docs, ascending within a term
	tfs     []uint16 // frequency of the term in each posting's row
	maxTF   []uint16 // per term: its highest frequency in the block
	minLen  []uint32 // per term: the shortest row holding it
}

func newKwCache(budget int64) *kwCache {
	return &kwCache{budget: budget, cols: map[int64]*kwCollection{}, pending: map[int64]bool{}, refused: map[int64]string{}}
}

// SetKeywordCacheBytes sets the memory budget of the keyword cache,
// evicting the least recently searched collections above it; 0 turns it
// off and every keyword query is FTS5's.
func (s *Store) SetKeywordCacheBytes(n int64) {
	c := s.kws
	c.mu.Lock()
	defer c.mu.Unlock()
	c.budget = n
	c.evictLocked(-1)
}

// WithKeywordMemory sets the keyword cache's memory budget (default
// DefaultKeywordCacheBytes); a collection whose postings would not fit is
// ranked by FTS5.
func WithKeywordMemory(n int64) Option { return func(s *Store) { s.kws.budget = n } }

// collection returns the cache entry of seq, a collection of rows
// keyword rows holding tokens tokens, creating it, or nil when the cache
// cannot hold it: its estimated size is over the budget, or it was
// refused at this size.
func (c *kwCache) collection(seq, rows, tokens int64) *kwCollection {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.refused[seq]; ok && (r == kwDeleted || r == kwSize(rows, tokens)) {
		return nil
	}
	kc := c.cols[seq]
	if kwEstimate(rows, tokens) > c.budget {
		c.removeLocked(seq)
		return nil
	}
	c.tick++
	if kc == nil {
		kc = &kwCollection{dict: map[string]uint32{}, blocks: map[int64]*kwBlock{}}
		c.cols[seq] = kc
	}
	kc.lastUsed = c.tick
	return kc
}

// resize records the size of collection seq's entry kc, evicting others
// if the cache is over budget. A collection larger than the whole budget
// is refused at its size, rows and tokens. It reports false when kc is no
// longer cached.
func (c *kwCache) resize(seq int64, kc *kwCollection, rows, tokens int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cols[seq] != kc {
		return false
	}
	kc.mu.Lock()
	n := kc.bytes
	kc.mu.Unlock()
	c.bytes += n - kc.charged
	kc.charged = n
	if n > c.budget {
		c.refuseLocked(seq, kwSize(rows, tokens))
		return false
	}
	c.evictLocked(seq)
	return c.cols[seq] == kc
}

// refuse leaves collection seq to FTS5 until its size differs from size.
func (c *kwCache) refuse(seq int64, size string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refuseLocked(seq, size)
}

func (c *kwCache) refuseLocked(seq int64, size string) {
	c.removeLocked(seq)
	c.refused[seq] = size
}

// removeLocked drops collection seq's entry.
func (c *kwCache) removeLocked(seq int64) {
	if kc := c.cols[seq]; kc != nil {
		c.bytes -= kc.charged
		delete(c.cols, seq)
	}
}

// drop forgets collection seq, deleted: sequence numbers are never reused,
// so nothing would search it again, and a search that began before the
// deletion does not cache it anew.
func (c *kwCache) drop(seq int64) { c.refuse(seq, kwDeleted) }

// evictLocked drops least recently used collections other than keep until
// the cache fits its budget, keep last.
func (c *kwCache) evictLocked(keep int64) {
	for c.bytes > c.budget {
		victim := lruVictim(c.cols, func(kc *kwCollection) int64 { return kc.lastUsed }, keep)
		if victim < 0 {
			victim = keep
		}
		if c.cols[victim] == nil {
			return
		}
		c.removeLocked(victim)
	}
}

// kwBuild asks the background builder to fill the cache of one collection.
type kwBuild struct {
	seq   int64
	colID string
}

// requestBuild queues a build of collection seq unless one is queued.
func (s *Store) requestKeywordBuild(seq int64, colID string) {
	c := s.kws
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending[seq] {
		return
	}
	select {
	case s.kwBuilds <- kwBuild{seq, colID}:
		c.pending[seq] = true
	default: // the queue is full: a later search asks again
	}
}

// keywordBuildLoop builds the collections requestKeywordBuild queues, one
// at a time, until the store closes.
func (s *Store) keywordBuildLoop() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	for {
		select {
		case <-s.stop:
			return
		case b := <-s.kwBuilds:
			if err := s.buildKeywordCache(ctx, b); err != nil && ctx.Err() == nil {
				s.log.Warn("keyword cache build", "collection", b.colID, "err", err)
			}
			s.kws.mu.Lock()
			delete(s.kws.pending, b.seq)
			s.kws.mu.Unlock()
		}
	}
}

// buildKeywordCache brings every block of a collection up to date,
// installing each as it is built, one reader per core: each reads the
// blocks it builds, and their versions, in a read transaction of its own.
func (s *Store) buildKeywordCache(ctx context.Context, b kwBuild) error {
	var rows, tokens int64
	err := s.db.QueryRowContext(ctx, `SELECT keyword_rows, keyword_tokens FROM collections WHERE seq = ?`, b.seq).Scan(&rows, &tokens)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // deleted since
	}
	if err != nil {
		return err
	}
	kc := s.kws.collection(b.seq, rows, tokens)
	if kc == nil {
		return nil
	}
	versions, err := blockVersions(ctx, s.db, b.seq)
	if err != nil {
		return err
	}
	stale := kc.stale(versions)
	var next atomic.Int64
	var evicted atomic.Bool
	return parallel(min(runtime.GOMAXPROCS(0), len(stale)), func(int) error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for i := next.Add(1) - 1; i < int64(len(stale)) && !evicted.Load(); i = next.Add(1) - 1 {
			raw, err := readKeywordBlock(ctx, tx, b.seq, b.colID, stale[i].block, kc.cached(stale[i].block))
			if errors.Is(err, errKeywordRow) {
				s.refuseKeywords(b.seq, b.colID, rows, tokens, err)
				return nil
			}
			if err != nil {
				return err
			}
			kc.install(raw)
			if !s.kws.resize(b.seq, kc, rows, tokens) {
				evicted.Store(true) // the collection does not fit
			}
		}
		return nil
	})
}

// refuseKeywords leaves collection seq to FTS5 until its keyword rows
// change, for a row the cache cannot hold (err).
func (s *Store) refuseKeywords(seq int64, colID string, rows, tokens int64, err error) {
	s.log.Warn("keyword cache: collection left to FTS5 until it changes", "collection", colID, "err", err)
	s.kws.refuse(seq, kwSize(rows, tokens))
}

// kwEstimate is a collection's cache size before it is built: a posting
// (4 bytes) per token at most, and a row's place and length.
func kwEstimate(rows, tokens int64) int64 { return tokens*4 + rows*6 }

// blockVersion is one row of keyword_blocks.
type blockVersion struct{ block, version int64 }

// blockVersions returns the versions of collection seq's blocks in block
// order.
func blockVersions(ctx context.Context, q rowsQuerier, seq int64) ([]blockVersion, error) {
	return queryAll(ctx, q, func(r rowScanner) (v blockVersion, err error) {
		err = r.Scan(&v.block, &v.version)
		return v, err
	}, `SELECT block, version FROM keyword_blocks WHERE collection_seq = ? ORDER BY block`, seq)
}

// cached returns the cached version of block, or nil.
func (kc *kwCollection) cached(block int64) *kwBlock {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	return kc.blocks[block]
}

// stale returns the versions whose block the cache lacks or holds older.
func (kc *kwCollection) stale(versions []blockVersion) []blockVersion {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	var out []blockVersion
	for _, v := range versions {
		if b := kc.blocks[v.block]; b == nil || b.version < v.version {
			out = append(out, v)
		}
	}
	return out
}

// errKeywordRow reports a row the cache cannot rank as FTS5 does: one
// whose tokens FTS5 counted otherwise, or longer than 65,535 tokens (a
// frequency is a uint16). Its collection is left to FTS5.
var errKeywordRow = errors.New("keyword cache: a row it cannot hold")

// rawBlock is one block's rows as read from the database, not yet
// interned: every row's ID and length, and the tokens of the rows read
// afresh. The others are the rows of base, a cached version of the block,
// whose postings are reused: a row's text never changes (new content is
// new chunks), so only rows added since base are tokenized again.
type rawBlock struct {
	blockVersion
	ids    []int64
	lens   []uint32
	fresh  []bool   // per row: read now, its tokens in tokens
	tokens [][]byte // each fresh row's fts_terms blob
	base   *kwBlock
}

// readKeywordBlock reads block of collection seq (ID colID) in tx: its
// version, its rows' IDs and lengths, and the tokens of those base (nil
// or a cached version of the block) lacks.
func readKeywordBlock(ctx context.Context, tx *sql.Tx, seq int64, colID string, block int64, base *kwBlock) (*rawBlock, error) {
	raw := &rawBlock{blockVersion: blockVersion{block: block}, base: base}
	if err := tx.QueryRowContext(ctx, `SELECT version FROM keyword_blocks WHERE collection_seq = ? AND block = ?`, seq, block).Scan(&raw.version); err != nil {
		return nil, err
	}
	start := block << kwBlockShift
	if base == nil {
		raw.tokens = make([][]byte, 0, kwBlockIDs)
		err := raw.readTokens(ctx, tx, `SELECT d.id, fts_doclen(d.sz), `+scopedfts.Terms(seq, keywordText)+`
			FROM fts_chunks_docsize d JOIN chunks c ON c.id = d.id WHERE d.id BETWEEN ? AND ? AND c.collection_id = ? ORDER BY d.id`,
			func(id int64, n uint32) int {
				raw.ids, raw.lens, raw.fresh = append(raw.ids, id), append(raw.lens, n), append(raw.fresh, true)
				raw.tokens = append(raw.tokens, nil)
				return len(raw.ids) - 1
			}, start, start+kwBlockIDs-1, colID)
		return raw, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT d.id, fts_doclen(d.sz) FROM fts_chunks_docsize d JOIN chunks c ON c.id = d.id
		WHERE d.id BETWEEN ? AND ? AND c.collection_id = ? ORDER BY d.id`, start, start+kwBlockIDs-1, colID)
	if err != nil {
		return nil, err
	}
	var added []int64
	for rows.Next() {
		var id int64
		var n uint32
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, err
		}
		_, had := slices.BinarySearch(base.docs, uint16(id-start))
		raw.ids, raw.lens, raw.fresh = append(raw.ids, id), append(raw.lens, n), append(raw.fresh, !had)
		if !had {
			added = append(added, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(added) == 0 {
		return raw, err
	}
	raw.tokens = make([][]byte, len(raw.ids))
	err = raw.readTokens(ctx, tx, `SELECT d.id, fts_doclen(d.sz), `+scopedfts.Terms(seq, keywordText)+`
		FROM fts_chunks_docsize d JOIN chunks c ON c.id = d.id WHERE d.id IN (SELECT value FROM json_each(?))`,
		func(id int64, _ uint32) int {
			d, _ := slices.BinarySearch(raw.ids, id)
			return d
		}, jsonIDs(added))
	return raw, err
}

// readTokens runs query, whose rows are a keyword row's ID, length and
// tokens, and stores each row's tokens at the place row gives it,
// checking that they are as many as FTS5 counted.
func (raw *rawBlock) readTokens(ctx context.Context, tx *sql.Tx, query string, row func(id int64, n uint32) int, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n uint32
		var toks []byte
		if err := rows.Scan(&id, &n, &toks); err != nil {
			return err
		}
		if got := bytes.Count(toks, []byte{0}); n > math.MaxUint16 || got != int(n) {
			return fmt.Errorf("%w: chunk %d has %d tokens, FTS5 counted %d", errKeywordRow, id, got, n)
		}
		raw.tokens[row(id, n)] = toks
	}
	return rows.Err()
}

// install builds raw's block, interning its terms, and keeps it unless
// the cache holds a newer version (of a later snapshot). It returns the
// block, of raw's snapshot either way.
func (kc *kwCollection) install(raw *rawBlock) *kwBlock {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	b := kc.buildLocked(raw)
	if old := kc.blocks[b.block]; old == nil || old.version < b.version {
		if old != nil {
			kc.bytes -= old.size()
		}
		kc.blocks[b.block] = b
		kc.bytes += b.size()
	}
	return b
}

// buildLocked turns raw into a block, interning new terms into kc.dict:
// the postings of base's rows still there, then those of the fresh rows,
// scattered by term (a counting sort over term IDs, as a fresh row's
// tokens are counted into frequencies).
func (kc *kwCollection) buildLocked(raw *rawBlock) *kwBlock {
	type posting struct {
		term uint32
		doc  uint16
		tf   uint16
	}
	b := &kwBlock{block: raw.block, version: raw.version, docs: make([]uint16, len(raw.ids)), lens: raw.lens}
	n := 0
	for d, id := range raw.ids {
		b.docs[d] = uint16(id - raw.block<<kwBlockShift)
		if raw.fresh[d] {
			n += int(raw.lens[d]) // a posting per token at most
		}
	}
	if raw.base != nil {
		n += len(raw.base.post)
	}
	all := make([]posting, 0, n)
	if base := raw.base; base != nil {
		moved := make([]int32, len(base.docs)) // base's row i is row moved[i] here, or gone (-1)
		for i, doc := range base.docs {
			d, ok := slices.BinarySearch(b.docs, doc)
			moved[i] = -1
			if ok && !raw.fresh[d] {
				moved[i] = int32(d)
			}
		}
		for j, t := range base.terms {
			for x := base.starts[j]; x < base.starts[j+1]; x++ {
				if d := moved[base.post[x]]; d >= 0 {
					all = append(all, posting{t, uint16(d), base.tfs[x]})
				}
			}
		}
	}
	var row []uint32
	for d := range raw.ids {
		if !raw.fresh[d] {
			continue
		}
		row = row[:0]
		for toks := raw.tokens[d]; len(toks) > 0; {
			end := bytes.IndexByte(toks, 0)
			t, ok := kc.dict[string(toks[:end])]
			if !ok {
				t = uint32(len(kc.dict))
				kc.dict[string(toks[:end])] = t
				kc.bytes += int64(end) + kwDictEntryBytes
				kc.count = append(kc.count, 0)
			}
			if kc.count[t] == 0 {
				row = append(row, t)
			}
			kc.count[t]++
			toks = toks[end+1:]
		}
		for _, t := range row {
			all = append(all, posting{t, uint16(d), uint16(kc.count[t])})
			kc.count[t] = 0
		}
	}
	for _, p := range all {
		if kc.count[p.term] == 0 {
			b.terms = append(b.terms, p.term)
		}
		kc.count[p.term]++
	}
	slices.Sort(b.terms)
	b.starts = make([]uint32, len(b.terms)+1)
	b.maxTF, b.minLen = make([]uint16, len(b.terms)), make([]uint32, len(b.terms))
	for j, t := range b.terms {
		// count becomes the term's next free posting.
		n := kc.count[t]
		b.starts[j+1] = b.starts[j] + n
		kc.count[t] = b.starts[j]
		b.minLen[j] = math.MaxUint32
	}
	b.post, b.tfs = make([]uint16, len(all)), make([]uint16, len(all))
	for _, p := range all {
		x := kc.count[p.term]
		kc.count[p.term]++
		b.post[x], b.tfs[x] = p.doc, p.tf
	}
	for j, t := range b.terms {
		kc.count[t] = 0
		lo, hi := b.starts[j], b.starts[j+1]
		if !slices.IsSorted(b.post[lo:hi]) {
			// Fresh rows among base's: put the term's postings in row
			// order again.
			seg := make([]posting, 0, hi-lo)
			for x := lo; x < hi; x++ {
				seg = append(seg, posting{t, b.post[x], b.tfs[x]})
			}
			slices.SortFunc(seg, func(p, q posting) int { return cmp.Compare(p.doc, q.doc) })
			for i, p := range seg {
				b.post[lo+uint32(i)], b.tfs[lo+uint32(i)] = p.doc, p.tf
			}
		}
		for x := lo; x < hi; x++ {
			b.maxTF[j] = max(b.maxTF[j], b.tfs[x])
			b.minLen[j] = min(b.minLen[j], b.lens[b.post[x]])
		}
	}
	return b
}

// kwDictEntryBytes is the memory of a dictionary entry beside its text.
const kwDictEntryBytes = 48

// size is the block's memory in bytes.
func (b *kwBlock) size() int64 {
	return int64(len(b.docs)*2+len(b.lens)*4+len(b.terms)*4+len(b.starts)*4+len(b.post)*4+len(b.maxTF)*2+len(b.minLen)*4) + 200
}

// find returns the index of term t in the block, or -1.
func (b *kwBlock) find(t uint32) int {
	i, ok := slices.BinarySearch(b.terms, t)
	if !ok {
		return -1
	}
	return i
}

// cachedKeywordSearch ranks the k chunks of collection c (seq) with the
// best BM25 over the query words, restricted to the sorted IDs allowed
// unless nil, from the keyword cache. ok is false when the cache cannot
// answer (off, over budget, being built, or words it cannot map to one
// token each); the caller then asks FTS5. informative is keywordSearch's.
func (s *Store) cachedKeywordSearch(ctx context.Context, c *ragd.Collection, seq int64, words []string, k int, allowed []int64, informative bool) (_ []candidate, ok bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, true, err
	}
	defer tx.Rollback()
	var rows, tokens int64
	if err := tx.QueryRowContext(ctx, `SELECT keyword_rows, keyword_tokens FROM collections WHERE seq = ?`, seq).Scan(&rows, &tokens); err != nil {
		return nil, true, err
	}
	kc := s.kws.collection(seq, rows, tokens)
	if kc == nil {
		return nil, false, nil
	}
	versions, err := blockVersions(ctx, tx, seq)
	if err != nil {
		return nil, true, err
	}
	stale := kc.stale(versions)
	if len(stale) > s.kwSyncBlocks {
		s.requestKeywordBuild(seq, c.ID)
		return nil, false, nil
	}
	fresh := map[int64]*kwBlock{}
	for _, v := range stale {
		raw, err := readKeywordBlock(ctx, tx, seq, c.ID, v.block, kc.cached(v.block))
		if errors.Is(err, errKeywordRow) {
			s.refuseKeywords(seq, c.ID, rows, tokens, err)
			return nil, false, nil
		}
		if err != nil {
			return nil, true, err
		}
		fresh[v.block] = kc.install(raw)
		if !s.kws.resize(seq, kc, rows, tokens) {
			return nil, false, nil
		}
	}
	// Each word tokenized on its own: a word is a term only if it makes
	// exactly one token, as FTS5's one-token phrase.
	list, _ := json.Marshal(words)
	terms, err := queryColumn[[]byte](ctx, tx, `SELECT `+scopedfts.Terms(seq, "value")+` FROM json_each(?) ORDER BY key`, string(list))
	if err != nil {
		return nil, true, err
	}
	q := &kwQuery{avgdl: float64(max(tokens, 1)) / float64(max(rows, 1))}
	kc.mu.Lock()
	blocks := make([]*kwBlock, 0, len(versions))
	for _, v := range versions {
		b := fresh[v.block]
		if b == nil {
			b = kc.blocks[v.block]
		}
		if b == nil || b.version != v.version {
			// A newer snapshot's build replaced it meanwhile.
			kc.mu.Unlock()
			return nil, false, nil
		}
		blocks = append(blocks, b)
	}
	for _, toks := range terms {
		if bytes.Count(toks, []byte{0}) != 1 {
			kc.mu.Unlock()
			return nil, false, nil // a phrase of several tokens, or none: FTS5's
		}
		t, ok := kc.dict[string(toks[:len(toks)-1])]
		q.terms = append(q.terms, kwTerm{id: t, known: ok})
	}
	kc.mu.Unlock()
	half := int64(c.ChunkCount+1) / 2
	common := 0
	for i := range q.terms {
		t := &q.terms[i]
		if t.known {
			for _, b := range blocks {
				if j := b.find(t.id); j >= 0 {
					t.df += int64(b.starts[j+1] - b.starts[j])
				}
			}
		}
		t.idf = scopedfts.IDF(max(rows, 1), t.df)
		if t.df >= half {
			common++
		}
	}
	if informative && c.ChunkCount >= minPruneRows && common == len(q.terms) {
		return nil, true, nil // see keywordSearch
	}
	return q.rank(blocks, k, allowed), true, nil
}

// kwQuery is one keyword query over the cache: its terms in query order
// (FTS5's phrases) and the collection's average row length.
type kwQuery struct {
	terms []kwTerm
	avgdl float64
}

// kwTerm is one query term.
type kwTerm struct {
	id    uint32
	known bool // in the collection's dictionary
	df    int64
	idf   float64
}

// bm25K1 and bm25B are bm25_scoped's constants, variables so that Go
// computes with them in float64 at run time as the C code does.
var bm25K1, bm25B = 1.2, 0.75

// tfPart is BM25's term-frequency factor of a term found tf times in a
// row of dl tokens, in bm25_scoped's order of operations; the explicit
// conversions keep Go from fusing a multiply and an add.
func tfPart(tf, dl, avgdl float64) float64 {
	return float64(tf*float64(bm25K1+1.0)) / (tf + float64(bm25K1*float64(1-bm25B+float64(float64(bm25B*dl)/avgdl))))
}

// kwTop keeps the best k candidates, the worst on top.
type kwTop = bestK[candidate]

// kwWorse orders candidates by score, then ID, as FTS5's ORDER BY score,
// rowid does.
func kwWorse(a, b candidate) bool { return a.score < b.score || (a.score == b.score && a.id > b.id) }

// scoreFloor returns the score below which nothing enters t: -Inf until k
// are kept, then the k-th score less a margin for rounding (bounds and
// partial sums are added in another order than the final scores).
func scoreFloor(t *kwTop) float64 {
	if !t.full() {
		return math.Inf(-1)
	}
	return t.hits[0].score * (1 - 1e-9)
}

// kwPlan is one block's part in a query: where each query term's postings
// are in the block (-1: absent), each one's bound, and their sum.
type kwPlan struct {
	b   *kwBlock
	at  []int
	ub  []float64
	sum float64
}

// rank returns the k rows of blocks with the best BM25, best first, ties
// by ID, restricted to the sorted IDs allowed unless nil.
func (q *kwQuery) rank(blocks []*kwBlock, k int, allowed []int64) []candidate {
	n := len(q.terms)
	plans := make([]kwPlan, 0, len(blocks))
	for _, b := range blocks {
		p := kwPlan{b: b, at: make([]int, n), ub: make([]float64, n)}
		for i, t := range q.terms {
			p.at[i] = -1
			if !t.known {
				continue
			}
			if j := b.find(t.id); j >= 0 {
				p.at[i] = j
				p.ub[i] = t.idf * tfPart(float64(b.maxTF[j]), float64(b.minLen[j]), q.avgdl)
				p.sum += p.ub[i]
			}
		}
		if p.sum > 0 {
			plans = append(plans, p)
		}
	}
	slices.SortFunc(plans, func(x, y kwPlan) int { return -cmp.Compare(x.sum, y.sum) })
	top := &kwTop{k: k, worse: kwWorse}
	sc := scratchFor(n)
	defer kwScratches.Put(sc)
	for _, p := range plans {
		if p.sum < scoreFloor(top) {
			break // blocks come best bound first
		}
		q.rankBlock(p, top, allowed, sc)
	}
	slices.SortFunc(top.hits, func(a, b candidate) int {
		if kwWorse(a, b) {
			return 1
		}
		return -1
	})
	return top.hits
}

// kwScratch is rank's per-row arrays, indexed by a row's place in its
// block, zeroed again after each block, so that queries share them
// through kwScratches (half a MiB for 64 terms).
type kwScratch struct {
	acc     [kwBlockIDs]float64
	tf      [][kwBlockIDs]uint16 // per query term
	touched [kwBlockIDs / 64]uint64
	mask    [kwBlockIDs / 64]uint64 // allowed rows by chunk ID - block start
	order   []int
	lesser  []bool   // per query term: not essential in this block
	cursors []uint32 // per lesser term: its next posting
}

var kwScratches = sync.Pool{New: func() any { return new(kwScratch) }}

// scratchFor returns zeroed scratch arrays for a query of terms terms;
// put them back in kwScratches when done.
func scratchFor(terms int) *kwScratch {
	sc := kwScratches.Get().(*kwScratch)
	if len(sc.tf) < terms {
		sc.tf = make([][kwBlockIDs]uint16, terms)
		sc.order, sc.lesser, sc.cursors = make([]int, terms), make([]bool, terms), make([]uint32, terms)
	}
	return sc
}

// rankBlock offers top the rows of one block that can enter it.
func (q *kwQuery) rankBlock(p kwPlan, top *kwTop, allowed []int64, sc *kwScratch) {
	b := p.b
	base := p.b.block << kwBlockShift
	if allowed != nil {
		from, _ := slices.BinarySearch(allowed, base)
		to, _ := slices.BinarySearch(allowed, base+kwBlockIDs)
		if from == to {
			return
		}
		clear(sc.mask[:])
		for _, id := range allowed[from:to] {
			sc.mask[(id-base)>>6] |= 1 << ((id - base) & 63)
		}
	}
	// Terms by bound, lowest first: the first ones, whose bounds add up to
	// less than the k-th score, cannot lift a row alone (MaxScore); only
	// the rest's postings are read.
	order := sc.order[:0]
	for i, j := range p.at {
		if j >= 0 {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(x, y int) int { return cmp.Compare(p.ub[x], p.ub[y]) })
	floor := scoreFloor(top)
	lesser, m := 0.0, 0
	for m < len(order) && lesser+p.ub[order[m]] < floor {
		lesser += p.ub[order[m]]
		m++
	}
	essential := order[m:]
	for _, i := range essential {
		j := p.at[i]
		idf := q.terms[i].idf
		tfs := &sc.tf[i]
		for x := b.starts[j]; x < b.starts[j+1]; x++ {
			d := b.post[x]
			if allowed != nil && sc.mask[b.docs[d]>>6]&(1<<(b.docs[d]&63)) == 0 {
				continue
			}
			tf := b.tfs[x]
			tfs[d] = tf
			sc.acc[d] += idf * tfPart(float64(tf), float64(b.lens[d]), q.avgdl)
			sc.touched[d>>6] |= 1 << (d & 63)
		}
	}
	cursors := sc.cursors // next posting of each lesser term
	clear(sc.lesser)
	for _, i := range order[:m] {
		cursors[i] = b.starts[p.at[i]]
		sc.lesser[i] = true
	}
	for w, word := range sc.touched {
		for word != 0 {
			d := uint16(w<<6 + bits.TrailingZeros64(word))
			word &= word - 1
			if sc.acc[d]+lesser >= scoreFloor(top) {
				top.offer(candidate{id: base + int64(b.docs[d]), score: q.score(b, p, d, sc)})
			}
			sc.acc[d] = 0
			for _, i := range essential {
				sc.tf[i][d] = 0
			}
		}
	}
	clear(sc.touched[:])
}

// score is row d's BM25 as bm25_scoped computes it: term by term in query
// order. Essential terms' frequencies are in sc; the lesser ones' are
// found from their cursors, which only move forward since rows come in
// order.
func (q *kwQuery) score(b *kwBlock, p kwPlan, d uint16, sc *kwScratch) float64 {
	dl := float64(b.lens[d])
	s := 0.0
	for i, t := range q.terms {
		j := p.at[i]
		if j < 0 {
			continue
		}
		var tf uint16
		if sc.lesser[i] {
			post := b.post[sc.cursors[i]:b.starts[j+1]]
			x, found := slices.BinarySearch(post, d)
			sc.cursors[i] += uint32(x)
			if found {
				tf = b.tfs[sc.cursors[i]]
			}
		} else {
			tf = sc.tf[i][d]
		}
		if tf > 0 {
			s += float64(t.idf * tfPart(float64(tf), dl, q.avgdl))
		}
	}
	return s
}
