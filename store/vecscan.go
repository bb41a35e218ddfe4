package store

import (
	"bytes"
	"container/heap"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"unsafe"
)

// DefaultVectorCacheBytes is the default memory budget of the vector cache.
const DefaultVectorCacheBytes = 2 << 30

// The vector cache makes exact vector search run at memory bandwidth.
//
// sqlite-vec keeps a vec0 table's vectors in chunks of chunk_size slots,
// each chunk of one partition (collection, index.go): a row of
// <table>_chunks holds the chunk's partition, validity bitmap and slot
// rowids, and the row of <table>_vector_chunks00 with the same id holds
// its vectors back to back. Its KNN copies every chunk out of SQLite and
// selects each chunk's top k with an O(k x chunk_size) loop; at 100k x 384
// that costs 2.5-10x the time to stream the vectors from memory.
//
// The cache holds each chunk's vectors in process memory. Every search
// reads the validity bitmaps and rowids of all the collection's chunks
// (about 1% of the
// vector bytes) in its own read transaction and reloads any chunk whose
// bitmap or rowids differ from the cached copy, so the scan sees exactly
// the snapshot of the search, whoever wrote to the table: an insert or a
// delete changes the bitmap, and a re-used slot gets a new rowid (chunk
// IDs come from an AUTOINCREMENT column and are never reused). The store
// never updates a vector in place (changing an item's content replaces
// its chunks), which is the one write the cache could not see.
type vecCache struct {
	mu     sync.Mutex
	budget int64
	bytes  int64
	tick   int64
	cols   map[int64]*vecCollection // by collection seq
}

// vecCollection is the cached vectors of one collection.
type vecCollection struct {
	mu       sync.Mutex
	dims     int
	chunks   map[int64]*vecChunk
	bytes    int64
	lastUsed int64
}

// vecChunk is one immutable cached sqlite-vec chunk.
type vecChunk struct {
	id       int64
	validity []byte
	rawIDs   []byte    // the rowids blob, to compare with the table's
	rowids   []int64   // rowid of each slot
	used     int       // slots up to the last valid one
	vectors  []float32 // used x dims floats
}

func newVecCache(budget int64) *vecCache {
	return &vecCache{budget: budget, cols: map[int64]*vecCollection{}}
}

// SetVectorCacheBytes sets the memory budget of the vector cache, evicting
// the least recently searched collections above it. A collection larger
// than the budget is scanned from the database instead (diskVectorSearch);
// 0 turns the cache off.
func (s *Store) SetVectorCacheBytes(n int64) {
	c := s.vecs
	c.mu.Lock()
	defer c.mu.Unlock()
	c.budget = n
	c.evictLocked(-1)
}

// evictLocked drops least recently used collections other than keep until
// the cache fits its budget.
func (c *vecCache) evictLocked(keep int64) {
	for c.bytes > c.budget {
		victim, oldest := int64(-1), int64(0)
		for seq, vc := range c.cols {
			if seq != keep && (victim < 0 || vc.lastUsed < oldest) {
				victim, oldest = seq, vc.lastUsed
			}
		}
		if victim < 0 {
			return
		}
		c.bytes -= c.cols[victim].bytes
		delete(c.cols, victim)
	}
}

// collection returns the cache entry of seq, creating it, or nil when the
// cache cannot hold a collection of the given size.
func (c *vecCache) collection(seq int64, dims int, estimate int64) *vecCollection {
	c.mu.Lock()
	defer c.mu.Unlock()
	if estimate > c.budget {
		if vc := c.cols[seq]; vc != nil {
			c.bytes -= vc.bytes
			delete(c.cols, seq)
		}
		return nil
	}
	c.tick++
	vc := c.cols[seq]
	if vc == nil || vc.dims != dims {
		if vc != nil {
			c.bytes -= vc.bytes
		}
		vc = &vecCollection{dims: dims, chunks: map[int64]*vecChunk{}}
		c.cols[seq] = vc
	}
	vc.lastUsed = c.tick
	return vc
}

// resize records that collection seq now holds n bytes and evicts others
// if the cache is over budget.
func (c *vecCache) resize(seq int64, vc *vecCollection, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cols[seq] != vc {
		return // evicted meanwhile
	}
	c.bytes += n - vc.bytes
	vc.bytes = n
	c.evictLocked(seq)
}

// forget drops the cached collections whose seq is not in live.
func (c *vecCache) forget(live map[int64]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for seq, vc := range c.cols {
		if !live[seq] {
			c.bytes -= vc.bytes
			delete(c.cols, seq)
		}
	}
}

// cachedVectorSearch returns the k chunks of collection seq nearest to v by
// L2 distance, restricted to the sorted rowids allowed unless it is nil.
// ok is false when the collection does not fit the cache; the caller then
// scans it from the database.
func (s *Store) cachedVectorSearch(ctx context.Context, seq int64, v []float32, k int, chunkCount int, allowed []int64) (_ []candidate, ok bool, err error) {
	dims := len(v)
	vc := s.vecs.collection(seq, dims, int64(chunkCount)*int64(dims)*4)
	if vc == nil {
		return nil, false, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, true, err
	}
	defer tx.Rollback()
	chunks, err := s.syncChunks(ctx, tx, seq, vc)
	if err != nil {
		return nil, true, err
	}
	return scanChunks(chunks, v, k, allowed), true, nil
}

// syncChunks brings the cached chunks of collection seq up to date with
// the snapshot of tx and returns them.
func (s *Store) syncChunks(ctx context.Context, tx *sql.Tx, seq int64, vc *vecCollection) ([]*vecChunk, error) {
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT chunk_id, validity, rowids FROM "%s_chunks" WHERE partition00 = ? ORDER BY chunk_id`,
		vecTable(vc.dims)), seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	vc.mu.Lock()
	cached := vc.chunks
	vc.mu.Unlock()
	var out []*vecChunk
	var stale []*vecChunk // changed or new chunks, without their vectors yet
	for rows.Next() {
		var id int64
		var validity, rawIDs sql.RawBytes
		if err := rows.Scan(&id, &validity, &rawIDs); err != nil {
			return nil, err
		}
		if ch := cached[id]; ch != nil && bytes.Equal(ch.validity, validity) && bytes.Equal(ch.rawIDs, rawIDs) {
			out = append(out, ch)
			continue
		}
		ch, err := newVecChunk(id, validity, rawIDs)
		if err != nil {
			return nil, fmt.Errorf("%s chunk %d: %w", vecTable(vc.dims), id, err)
		}
		out = append(out, ch)
		stale = append(stale, ch)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(stale) == 0 && len(cached) == len(out) {
		return out, nil
	}
	if len(cached) == 0 {
		// A collection enters the cache: drop the ones deleted meanwhile.
		live, err := queryColumn[int64](ctx, tx, `SELECT seq FROM collections`)
		if err != nil {
			return nil, err
		}
		m := make(map[int64]bool, len(live))
		for _, l := range live {
			m[l] = true
		}
		s.vecs.forget(m)
	}
	if err := loadVectors(ctx, tx, vc.dims, stale); err != nil {
		return nil, err
	}
	next := make(map[int64]*vecChunk, len(out))
	var size int64
	for _, ch := range out {
		next[ch.id] = ch
		size += int64(len(ch.vectors)) * 4
	}
	vc.mu.Lock()
	vc.chunks = next
	vc.mu.Unlock()
	s.vecs.resize(seq, vc, size)
	return out, nil
}

func newVecChunk(id int64, validity, rawIDs []byte) (*vecChunk, error) {
	if len(rawIDs) != 8*8*len(validity) {
		return nil, fmt.Errorf("validity has %d bytes but rowids %d", len(validity), len(rawIDs))
	}
	ch := &vecChunk{id: id, validity: bytes.Clone(validity), rawIDs: bytes.Clone(rawIDs),
		rowids: make([]int64, 8*len(validity))}
	for i := range ch.rowids {
		ch.rowids[i] = int64(binary.LittleEndian.Uint64(rawIDs[8*i:]))
		if ch.valid(i) {
			ch.used = i + 1
		}
	}
	return ch, nil
}

func (ch *vecChunk) valid(i int) bool { return ch.validity[i>>3]&(1<<(i&7)) != 0 }

// setVectors copies the used slots of blob, a vector chunk of dims
// dimensions, into ch.vectors, reusing buf when it is large enough.
// sqlite-vec stores floats in the machine's byte order.
func (ch *vecChunk) setVectors(blob []byte, dims int, buf []float32) {
	n := ch.used * dims
	if cap(buf) < n {
		buf = make([]float32, n)
	}
	ch.vectors = buf[:n]
	if n > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&ch.vectors[0])), 4*n), blob)
	}
}

// loadVectors reads the vectors of chunks from the vector table of dims
// dimensions.
func loadVectors(ctx context.Context, tx *sql.Tx, dims int, chunks []*vecChunk) error {
	if len(chunks) == 0 {
		return nil
	}
	t := vecTable(dims)
	st, err := tx.PrepareContext(ctx, fmt.Sprintf(`SELECT vectors FROM "%s_vector_chunks00" WHERE rowid = ?`, t))
	if err != nil {
		return err
	}
	defer st.Close()
	for _, ch := range chunks {
		var blob sql.RawBytes
		rows, err := st.QueryContext(ctx, ch.id)
		if err != nil {
			return err
		}
		if !rows.Next() {
			rows.Close()
			return fmt.Errorf("%s: no vectors for chunk %d", t, ch.id)
		}
		if err := rows.Scan(&blob); err != nil {
			rows.Close()
			return err
		}
		if len(blob) != len(ch.rowids)*dims*4 {
			rows.Close()
			return fmt.Errorf("%s chunk %d: %d vector bytes, want %d", t, ch.id, len(blob), len(ch.rowids)*dims*4)
		}
		ch.setVectors(blob, dims, nil)
		if err := rows.Close(); err != nil {
			return err
		}
	}
	return nil
}

// hit is a scanned vector: its rowid and squared distance to the query.
type hit struct {
	id int64
	d  float32
}

// worse orders hits by distance, then rowid, so results are deterministic.
func worse(a, b hit) bool { return a.d > b.d || (a.d == b.d && a.id > b.id) }

// topK is a max-heap of the best k hits seen, the worst on top.
type topK struct {
	k    int
	hits []hit
}

func (t *topK) Len() int           { return len(t.hits) }
func (t *topK) Less(i, j int) bool { return worse(t.hits[i], t.hits[j]) }
func (t *topK) Swap(i, j int)      { t.hits[i], t.hits[j] = t.hits[j], t.hits[i] }
func (t *topK) Push(x any)         { t.hits = append(t.hits, x.(hit)) }
func (t *topK) Pop() any {
	h := t.hits[len(t.hits)-1]
	t.hits = t.hits[:len(t.hits)-1]
	return h
}

func (t *topK) offer(h hit) {
	if len(t.hits) < t.k {
		heap.Push(t, h)
	} else if worse(t.hits[0], h) {
		t.hits[0] = h
		heap.Fix(t, 0)
	}
}

// scanChunks computes the distance from v to every valid vector of chunks
// whose rowid is in allowed (all when allowed is nil) and returns the k
// nearest, best first. The chunks are split between the CPU's cores.
func scanChunks(chunks []*vecChunk, v []float32, k int, allowed []int64) []candidate {
	workers := min(runtime.GOMAXPROCS(0), len(chunks))
	var total int
	for _, ch := range chunks {
		total += ch.used
	}
	if total*len(v) < 1<<18 { // under 1 MB, a second goroutine costs more than it saves
		workers = min(workers, 1)
	}
	tops := make([]topK, workers)
	var wg sync.WaitGroup
	for w := range tops {
		tops[w].k = k
		wg.Go(func() {
			var dist []float32
			// Chunks are dealt round-robin so the workers get equal work
			// when only the last chunk is partly filled.
			for i := w; i < len(chunks); i += workers {
				ch := chunks[i]
				dist = slices.Grow(dist[:0], ch.used)[:ch.used]
				l2Squared(v, ch.vectors, dist, hasAVX2)
				for j, d := range dist {
					if !ch.valid(j) {
						continue
					}
					if allowed != nil {
						if _, found := slices.BinarySearch(allowed, ch.rowids[j]); !found {
							continue
						}
					}
					tops[w].offer(hit{id: ch.rowids[j], d: d})
				}
			}
		})
	}
	wg.Wait()
	var all []hit
	for _, t := range tops {
		all = append(all, t.hits...)
	}
	slices.SortFunc(all, func(a, b hit) int {
		if worse(b, a) {
			return -1
		}
		if worse(a, b) {
			return 1
		}
		return 0
	})
	if len(all) > k {
		all = all[:k]
	}
	out := make([]candidate, len(all))
	for i, h := range all {
		out[i] = candidate{id: h.id, score: 1 - float64(h.d)/2}
	}
	return out
}

// defaultDiskScanBatch is how many sqlite-vec chunks a disk scan holds in
// memory at once, twice over (one batch scanned while the next is read):
// 24 MiB of vectors a batch at 384 dimensions.
const defaultDiskScanBatch = 16

// diskVectorSearch returns what cachedVectorSearch returns, for a
// collection that does not fit the vector cache: it reads the
// collection's chunks from the database in one read transaction, a batch
// at a time, and scans each batch with the cache's code (scanChunks) while
// it reads the next, so memory holds two batches whatever the collection's
// size and the time grows in proportion to it.
func (s *Store) diskVectorSearch(ctx context.Context, seq int64, v []float32, k int, allowed []int64) ([]candidate, error) {
	dims := len(v)
	t := vecTable(dims)
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT c.chunk_id, c.validity, c.rowids, v.vectors FROM "%[1]s_chunks" c
		JOIN "%[1]s_vector_chunks00" v ON v.rowid = c.chunk_id WHERE c.partition00 = ? ORDER BY c.chunk_id`, t), seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var best []candidate
	var wg sync.WaitGroup
	scan := func(batch []*vecChunk) {
		wg.Wait()
		wg.Go(func() { best = bestOf(slices.Concat(best, scanChunks(batch, v, k, allowed)), k) })
	}
	// Two sets of buffers: one being scanned, one being read.
	per := s.diskScanBatch
	bufs := [2][][]float32{make([][]float32, per), make([][]float32, per)}
	var batch []*vecChunk
	for n := 0; rows.Next(); n++ {
		var id int64
		var validity, rawIDs, blob sql.RawBytes
		if err := rows.Scan(&id, &validity, &rawIDs, &blob); err != nil {
			wg.Wait()
			return nil, err
		}
		ch, err := newVecChunk(id, validity, rawIDs)
		if err == nil && len(blob) != len(ch.rowids)*dims*4 {
			err = fmt.Errorf("%d vector bytes, want %d", len(blob), len(ch.rowids)*dims*4)
		}
		if err != nil {
			wg.Wait()
			return nil, fmt.Errorf("%s chunk %d: %w", t, id, err)
		}
		slot := &bufs[(n/per)%2][n%per]
		ch.setVectors(blob, dims, *slot)
		*slot = ch.vectors
		if batch = append(batch, ch); len(batch) == per {
			scan(batch)
			batch = nil
		}
	}
	if len(batch) > 0 {
		scan(batch)
	}
	wg.Wait()
	return best, rows.Err()
}
