package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/ragd/ragd"
)

// DefaultVectorCacheBytes is the default memory budget of the vector cache.
const DefaultVectorCacheBytes = 2 << 30

// DefaultQuantizeAbove is the size of a collection's float vectors from
// which the cache holds it as codes (cachedVectorSearch). Below about
// 30 MiB the exact scan is as fast as the codes' scan, whose rescoring
// costs a fixed few tenths of a millisecond; above it the codes win, by
// 2.3x at 50k chunks of 384 dimensions (73 MiB) and 2.9x at 100k, with
// recall@10 1.000 on random and clustered vectors and 0.9999 on the
// built-in model's (docs/benchmarks.md). 64 MiB leaves a margin on the
// side of exact search.
const DefaultQuantizeAbove = 64 << 20

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
	loads  atomic.Int64 // chunks loaded since the store opened (VectorCacheStats)
	mu     sync.Mutex
	dir    string       // where quantized collections keep their vecFile; none when empty
	log    *slog.Logger // for a vecFile that fails
	budget int64
	bytes  int64
	tick   int64
	cols   map[int64]*vecCollection // by collection seq
}

// vecCollection is the cached vectors of one collection: float32 vectors,
// or int8 codes when quantized, with 2-bit codes when binary.
type vecCollection struct {
	mu sync.Mutex
	// syncing is held by the one syncChunks that loads: a channel of one,
	// so that a search waiting for it can give up with its context.
	syncing   chan struct{}
	dims      int
	quantized bool
	binary    bool
	chunks    map[int64]*vecChunk
	list      []*vecChunk // chunks in ID order, as of version
	version   int64       // the collection's index_writes when list was read
	synced    bool        // list and version are set
	file      *vecFile    // the floats of a quantized collection, for rescoring; nil without
	bytes     int64
	lastUsed  int64
}

// vecChunk is one immutable cached sqlite-vec chunk.
type vecChunk struct {
	id       int64
	validity []byte
	rawIDs   []byte    // the rowids blob, to compare with the table's
	rowids   []int64   // rowid of each slot
	used     int       // slots up to the last valid one
	vectors  []float32 // used x dims floats, unless quantized
	codes    []int8    // used x dims codes, when quantized (setCodes)
	scales   []float32 // per slot, when quantized: a code's unit
	bits     []uint64  // 2-bit codes' bit planes by blocks of 8 slots, when binary (setPlanes)
	fac      []float32 // 3 a slot by blocks of 8, when binary: the first pass's factors
	base     uint32    // the vecFile record of slot 0, when quantized with a file
	// packed is set when bits and fac lie in their collection's planes
	// arena (packPlanes).
	packed bool
}

func newVecCache(budget int64) *vecCache {
	return &vecCache{budget: budget, log: slog.Default(), cols: map[int64]*vecCollection{}}
}

// dropLocked removes collection seq from the cache and closes its file,
// aside: the close waits for a write of the file in progress, which must
// not hold the cache's lock and so every search.
func (c *vecCache) dropLocked(seq int64) {
	vc := c.cols[seq]
	c.bytes -= vc.bytes
	delete(c.cols, seq)
	if vc.file != nil {
		go vc.file.close()
	}
}

// closeAll drops every collection and closes their files before it
// returns.
func (c *vecCache) closeAll() {
	c.mu.Lock()
	var files []*vecFile
	for seq, vc := range c.cols {
		if vc.file != nil {
			files = append(files, vc.file)
		}
		c.bytes -= vc.bytes
		delete(c.cols, seq)
	}
	c.mu.Unlock()
	for _, f := range files {
		f.close()
	}
}

// VectorCacheStats returns the bytes the vector cache holds and how many
// sqlite-vec chunks it has loaded since the store opened, for /metrics:
// loads that keep growing under a steady search load mean the cache
// evicts collections it needs again (--memory-budget).
func (s *Store) VectorCacheStats() (bytes, chunkLoads int64) {
	s.vecs.mu.Lock()
	defer s.vecs.mu.Unlock()
	return s.vecs.bytes, s.vecs.loads.Load()
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
		victim := lruVictim(c.cols, func(vc *vecCollection) int64 { return vc.lastUsed }, keep)
		if victim < 0 {
			return
		}
		c.dropLocked(victim)
	}
}

// lruVictim returns the key of the entry of cols least recently used,
// by the tick lastUsed reads, other than keep; -1 when there is none.
func lruVictim[V any](cols map[int64]V, lastUsed func(V) int64, keep int64) int64 {
	victim, oldest := int64(-1), int64(0)
	for seq, v := range cols {
		if seq != keep && (victim < 0 || lastUsed(v) < oldest) {
			victim, oldest = seq, lastUsed(v)
		}
	}
	return victim
}

// collection returns the cache entry of seq, holding floats or codes as
// quantized and binary say, creating it, or nil when the cache cannot hold
// a collection of estimate bytes; chunks sizes a new entry's vecFile.
func (c *vecCache) collection(seq int64, dims int, quantized, binary bool, chunks, estimate int64) *vecCollection {
	c.mu.Lock()
	defer c.mu.Unlock()
	if estimate > c.budget {
		if c.cols[seq] != nil {
			c.dropLocked(seq)
		}
		return nil
	}
	c.tick++
	vc := c.cols[seq]
	if vc == nil || vc.dims != dims || vc.quantized != quantized || vc.binary != binary {
		if vc != nil {
			c.dropLocked(seq)
		}
		vc = &vecCollection{dims: dims, quantized: quantized, binary: binary, chunks: map[int64]*vecChunk{}, syncing: make(chan struct{}, 1)}
		if quantized && c.dir != "" {
			vc.file = newVecFile(c.dir, dims, chunks, c.log)
		}
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
	for seq := range c.cols {
		if !live[seq] {
			c.dropLocked(seq)
		}
	}
}

// cachedVectorSearch returns the k chunks of collection seq nearest to v by
// L2 distance, restricted to the sorted rowids allowed unless it is nil.
// ok is false when the collection does not fit the cache, or is quantized
// and exact is set and its vector file cannot serve the search; the
// caller then scans it from the database.
//
// A collection that holding quantizes is cached as int8 codes (a quarter
// of the bytes): the scan keeps the quantizedCandidates(k) nearest by the
// codes and rescoreExact reads their vectors to rank them exactly, and
// an exact search scans the floats of its vector file (fileExactHits).
// Unless s.binaryFirst is off, the codes carry each vector's 2-bit code
// too (a quarter of an int8 code's bytes), and a first pass over them
// skips the slots that cannot be among the nearest before their codes are
// read (ragd_near in vecdist.go).
func (s *Store) cachedVectorSearch(ctx context.Context, c *ragd.Collection, seq int64, v []float32, k int, allowed []int64, exact bool) (_ []candidate, ok bool, err error) {
	h := s.holding(c, s.vecs.budgetNow())
	vc := s.vecs.collection(seq, c.Dimensions, h.quantize, h.binary, int64(c.ChunkCount), h.estimate)
	if vc == nil || h.quantize && exact && vc.file == nil {
		return nil, false, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, true, err
	}
	defer tx.Rollback()
	var version int64
	if err := tx.QueryRowContext(ctx, `SELECT index_writes FROM collections WHERE seq = ?`, seq).Scan(&version); err != nil {
		return nil, true, err
	}
	chunks, err := s.syncChunks(ctx, tx, seq, vc, version)
	if err != nil {
		return nil, true, err
	}
	if !h.quantize {
		return scanChunks(chunks, v, k, allowed), true, nil
	}
	if exact {
		hits, ok := fileExactHits(vc.file, chunks, v, k, allowed)
		return candidates(hits), ok, nil
	}
	cands, err := rescoreExact(ctx, tx, v, scanHits(chunks, v, quantizedCandidates(k), allowed), vc.file, k)
	return cands, true, err
}

// vectorHolding is how the vector cache holds a collection: as floats or
// as int8 codes (quantize), with 2-bit codes (binary), in about estimate
// bytes.
type vectorHolding struct {
	quantize, binary bool
	estimate         int64
}

// holding decides how the cache, of the given budget, holds collection c:
// a collection set to ragd.QuantizationInt8, or to ragd.QuantizationAuto
// with floats of s.quantizeAbove bytes or more or more than the whole
// budget, as codes.
func (s *Store) holding(c *ragd.Collection, budget int64) vectorHolding {
	n, dims := int64(c.ChunkCount), int64(c.Dimensions)
	floats := n * dims * 4
	h := vectorHolding{estimate: floats}
	h.quantize = c.Quantization == ragd.QuantizationInt8 ||
		(c.Quantization != ragd.QuantizationNone && (floats >= s.quantizeAbove || floats > budget))
	h.binary = h.quantize && s.binaryFirst
	if h.quantize {
		h.estimate = n * (dims + 4)
	}
	if h.binary {
		h.estimate += int64(planesLen(c.ChunkCount, c.Dimensions))*8 + int64(factorsLen(c.ChunkCount))*4
	}
	return h
}

// vectorSearchPath is what Collection.VectorSearch reports of c: how the
// next search without "exact" reads its vectors.
func (s *Store) vectorSearchPath(c *ragd.Collection) string {
	budget := s.vecs.budgetNow()
	h := s.holding(c, budget)
	switch {
	case h.estimate > budget:
		return ragd.VectorSearchDisk
	case h.quantize:
		return ragd.VectorSearchCodes
	}
	return ragd.VectorSearchFloats
}

// quantizedCandidates is how many of the nearest by int8 codes a quantized
// search rescores exactly to return k: enough that the codes' rounding
// (a few thousandths of a cosine) rarely pushes a true neighbour out
// (recall 1.000 at top_k 10 on random and clustered vectors up to 1M,
// docs/benchmarks.md), few enough that reading their vectors, about 35 us
// each, stays small beside the scan (1.4 ms for top_k 10).
func quantizedCandidates(k int) int { return max(2*k, k+30) }

// budgetNow returns the cache's memory budget.
func (c *vecCache) budgetNow() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.budget
}

// rescoreExact reads the vector of each candidate from file, or from the
// vector table of v's dimensions in tx where file is nil or lacks it, and
// returns the k nearest to v by their exact distance (set in cands),
// ordered and scored as scanChunks orders and scores them.
func rescoreExact(ctx context.Context, tx *sql.Tx, v []float32, cands []hit, file *vecFile, k int) ([]candidate, error) {
	if len(cands) == 0 {
		return nil, nil
	}
	vecs := make([]float32, len(cands)*len(v))
	missed := make([]int, len(cands))
	for i := range missed {
		missed[i] = i
	}
	if file != nil {
		missed = file.read(cands, vecs)
	}
	if err := readVectors(ctx, tx, v, cands, missed, vecs); err != nil {
		return nil, err
	}
	dist := make([]float32, len(cands))
	l2Squared(v, vecs, dist, hasAVX2)
	for i := range cands {
		cands[i].d = dist[i]
	}
	return bestOf(candidates(cands), k), nil
}

// readVectors reads the vectors of cands[i] for each i of which from the
// vector table of v's dimensions in tx into vecs, at i x len(v).
func readVectors(ctx context.Context, tx *sql.Tx, v []float32, cands []hit, which []int, vecs []float32) error {
	if len(which) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, `SELECT embedding FROM `+vecTable(len(v))+` WHERE rowid = ?`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, i := range which {
		cd := cands[i]
		var blob []byte
		if err := st.QueryRowContext(ctx, cd.id).Scan(&blob); err != nil {
			return fmt.Errorf("rescoring chunk %d: %w", cd.id, err)
		}
		if len(blob) != 4*len(v) {
			return fmt.Errorf("rescoring chunk %d: %d vector bytes, want %d", cd.id, len(blob), 4*len(v))
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&vecs[i*len(v)])), 4*len(v)), blob)
	}
	return nil
}

// syncChunks brings the cached chunks of collection seq up to date with
// the snapshot of tx, in which the collection's index_writes is version,
// and returns them. Every change of a collection's vectors increments its
// index_writes in the same transaction (index.go), so chunks read at the
// same version are current without reading the chunk table again: at 1M
// vectors that read (bitmaps and rowids, 8 MiB) cost as much as the scan.
func (s *Store) syncChunks(ctx context.Context, tx *sql.Tx, seq int64, vc *vecCollection, version int64) ([]*vecChunk, error) {
	if list, ok := vc.current(version); ok {
		return list, nil
	}
	// One sync at a time loads: searches that arrive together at a
	// collection not yet loaded, or just written, would each load (and
	// pack) the same chunks, a copy of the collection's codes each.
	select {
	case vc.syncing <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-vc.syncing }()
	if list, ok := vc.current(version); ok { // synced while this one waited
		return list, nil
	}
	vc.mu.Lock()
	cached := vc.chunks
	vc.mu.Unlock()
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT chunk_id, validity, rowids FROM "%s_chunks" WHERE partition00 = ? ORDER BY chunk_id`,
		vecTable(vc.dims)), seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
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
		vc.mu.Lock()
		vc.list, vc.version, vc.synced = out, version, true
		vc.mu.Unlock()
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
	if vc.file != nil {
		for _, ch := range stale {
			ch.base = vc.file.base(ch.id, len(ch.rowids))
		}
	}
	if vc.quantized && vc.binary {
		packPlanes(out, vc.dims)
	}
	if err := loadVectors(ctx, tx, vc.dims, vc.quantized, vc.binary, vc.file, stale); err != nil {
		return nil, err
	}
	s.vecs.loads.Add(int64(len(stale)))
	next := make(map[int64]*vecChunk, len(out))
	var size int64
	for _, ch := range out {
		next[ch.id] = ch
		size += int64(len(ch.vectors))*4 + int64(len(ch.codes)) + int64(len(ch.scales))*4 + int64(len(ch.bits))*8 + int64(len(ch.fac))*4
	}
	vc.mu.Lock()
	vc.chunks, vc.list, vc.version, vc.synced = next, out, version, true
	vc.mu.Unlock()
	s.vecs.resize(seq, vc, size)
	return out, nil
}

// packPlanes lays out the 2-bit codes and factors of the chunks of a
// binary collection, out (some loaded, some yet to be), in one
// allocation each, in the order of out, when more than a sixteenth of
// the chunks lie outside one: the first pass then streams one run of
// memory a worker (scanHits), which took 31 ms at 10M x 384 against
// 40 ms with each chunk's planes allocated alone (docs/benchmarks.md).
// A stale chunk gets its place in the arena for setCodes to fill; a
// cached one, which concurrent searches may be reading, is replaced in
// out by a copy whose planes are copied there.
//
// Packing copies every chunk's planes (1 GB and a few hundred ms at 10M
// x 384, in the search that syncs), so the chunks that writes reload
// keep planes of their own until they are a sixteenth: a sixteenth of
// the pass then streams from scattered allocations, and a collection
// rewritten at any rate is packed once per sixteenth of it. The planes of
// the chunks those replaced stay in the arena until it is packed again,
// uncounted by the cache's budget: at most a sixteenth of the planes.
func packPlanes(out []*vecChunk, dims int) {
	loose := 0
	for _, ch := range out {
		if !ch.packed {
			loose++
		}
	}
	if loose == 0 || 16*loose <= len(out) {
		return
	}
	var nb, nf int
	for _, ch := range out {
		nb += planesLen(ch.used, dims)
		nf += factorsLen(ch.used)
	}
	bits, fac := make([]uint64, nb), make([]float32, nf)
	for i, ch := range out {
		b, f := planesLen(ch.used, dims), factorsLen(ch.used)
		if ch.codes != nil { // loaded (setCodes): copy
			c := *ch
			copy(bits, ch.bits)
			copy(fac, ch.fac)
			ch = &c
			out[i] = ch
		}
		ch.bits, ch.fac, ch.packed = bits[:b:b], fac[:f:f], true
		bits, fac = bits[b:], fac[f:]
	}
}

// current returns the chunks of vc as of version, and whether they are
// synced to it.
func (vc *vecCollection) current(version int64) ([]*vecChunk, bool) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	return vc.list, vc.synced && vc.version == version
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

// setCodes quantizes the used slots of blob, a vector chunk of dims
// dimensions, into ch.codes and ch.scales (quantize), and with binary
// into ch.bits and ch.fac (setPlanes), in place when packPlanes gave them
// their place.
func (ch *vecChunk) setCodes(blob []byte, dims int, binary bool) {
	ch.codes = make([]int8, ch.used*dims)
	ch.scales = make([]float32, ch.used)
	if binary && !ch.packed {
		ch.bits = make([]uint64, planesLen(ch.used, dims))
		ch.fac = make([]float32, factorsLen(ch.used))
	}
	if ch.used == 0 {
		return
	}
	floats := unsafe.Slice((*float32)(unsafe.Pointer(&blob[0])), ch.used*dims)
	quantizeVectors(floats, dims, ch.codes, ch.scales, hasAVX2)
	if binary {
		setPlanesVectors(floats, dims, ch.bits, ch.fac, hasAVX2)
	}
}

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
// dimensions, as int8 codes when quantized, with 2-bit codes when binary.
// The reads in tx feed one worker a core, which quantizes (0.46 s of CPU
// a million vectors of 384 dimensions, BenchmarkSetCodes) while the next
// blob is read: the reads are the longer part.
func loadVectors(ctx context.Context, tx *sql.Tx, dims int, quantized, binary bool, file *vecFile, chunks []*vecChunk) error {
	if len(chunks) == 0 {
		return nil
	}
	t := vecTable(dims)
	st, err := tx.PrepareContext(ctx, fmt.Sprintf(`SELECT vectors FROM "%s_vector_chunks00" WHERE rowid = ?`, t))
	if err != nil {
		return err
	}
	defer st.Close()
	type loaded struct {
		ch   *vecChunk
		blob []byte
	}
	// Each blob is copied once, from the driver's row into a buffer of
	// a bounded set that the workers hand back: Scan into a []byte
	// allocated and cloned 1.5 MB a chunk besides the driver's own copy,
	// a fifth of a load's time (BenchmarkLoadCodes, docs/benchmarks.md).
	workers := min(runtime.GOMAXPROCS(0), len(chunks))
	work := make(chan loaded, workers)
	free := make(chan []byte, 2*workers)
	for range 2 * workers {
		free <- nil
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for w := range work {
				if quantized {
					w.ch.setCodes(w.blob, dims, binary)
					if file != nil {
						file.write(w.ch, w.blob)
					}
				} else {
					w.ch.setVectors(w.blob, dims, nil)
				}
				free <- w.blob
			}
		})
	}
	defer wg.Wait()
	defer close(work)
	for _, ch := range chunks {
		blob, err := readBlob(ctx, st, ch.id, <-free)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: no vectors for chunk %d", t, ch.id)
		}
		if err != nil {
			return err
		}
		if len(blob) != len(ch.rowids)*dims*4 {
			return fmt.Errorf("%s chunk %d: %d vector bytes, want %d", t, ch.id, len(blob), len(ch.rowids)*dims*4)
		}
		work <- loaded{ch, blob}
	}
	return nil
}

// readBlob returns the one column of st's row for id, copied into buf
// (grown as needed): sql.RawBytes spares database/sql's clone of it.
func readBlob(ctx context.Context, st *sql.Stmt, id int64, buf []byte) ([]byte, error) {
	rows, err := st.QueryContext(ctx, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, cmp.Or(rows.Err(), sql.ErrNoRows)
	}
	var raw sql.RawBytes
	if err := rows.Scan(&raw); err != nil {
		return nil, err
	}
	buf = append(buf[:0], raw...) // before Close, which frees raw
	return buf, rows.Close()
}

// hit is a scanned vector: its rowid, squared distance to the query and,
// in a quantized collection with a vecFile, its record there.
type hit struct {
	id  int64
	d   float32
	pos uint32
}

// worse orders hits by distance, then rowid, so results are deterministic.
func worse(a, b hit) bool { return a.d > b.d || (a.d == b.d && a.id > b.id) }

// topK keeps the best k hits seen, the farthest on top.
type topK = bestK[hit]

func newTopK(k int) topK { return topK{k: k, worse: worse} }

// bound is the distance a hit must not exceed to enter t: the farthest
// kept once k are, else +Inf.
func bound(t *topK) float32 {
	if !t.full() {
		return float32(math.Inf(1))
	}
	return t.hits[0].d
}

// fileExactHits is the exact search of a quantized collection: the k
// hits nearest to v among chunks, best first, by the floats of their
// slots read from vf, a run of records a chunk, on all cores. ok is false
// when vf lacks a valid slot's current vector (a write since the file's,
// or a file turned off): the caller then scans the database.
func fileExactHits(vf *vecFile, chunks []*vecChunk, v []float32, k int, allowed []int64) (_ []hit, ok bool) {
	var stale atomic.Bool
	hits := scanParts(chunks, len(v), k, func(mine []*vecChunk, top *topK) {
		var buf scanBuffers
		// A chunk's records and floats are 1.5 MB each at 384
		// dimensions: fresh buffers each search would cost more in page
		// faults than the read.
		fb := fileBufs.Get().(*fileBuffers)
		defer fileBufs.Put(fb)
		for _, ch := range mine {
			var ok bool
			if fb.raw, fb.floats, ok = vf.readChunk(ch, fb.raw, fb.floats); !ok || stale.Load() {
				stale.Store(true)
				return
			}
			// The chunk as the floats' scan sees it: its slots, with the
			// file's floats for vectors.
			view := vecChunk{id: ch.id, validity: ch.validity, rowids: ch.rowids, used: ch.used, vectors: fb.floats, base: ch.base}
			scanChunk(&view, v, nil, keptSlots{}, false, float32(math.Inf(1)), allowed, top, &buf)
		}
	})
	return hits, !stale.Load()
}

// fileBuffers are a worker's buffers for fileExactHits: a chunk's records
// and their floats.
type fileBuffers struct {
	raw    []byte
	floats []float32
}

// fileBufs recycles fileExactHits' buffers.
var fileBufs = sync.Pool{New: func() any { return new(fileBuffers) }}

// candidates turns hits into candidates scored by cosine similarity (the
// vectors are unit length).
func candidates(hits []hit) []candidate {
	out := make([]candidate, len(hits))
	for i, h := range hits {
		out[i] = candidate{id: h.id, score: 1 - float64(h.d)/2}
	}
	return out
}

// scanChunks computes the distance from v to every valid vector of chunks
// whose rowid is in allowed (all when allowed is nil) and returns the k
// nearest, best first. The chunks are split between the CPU's cores. For
// chunks of int8 codes, v is quantized too and the distance is estimated
// from the two codes' integer dot product.
func scanChunks(chunks []*vecChunk, v []float32, k int, allowed []int64) []candidate {
	return candidates(scanHits(chunks, v, k, allowed))
}

// scanHits is scanChunks' scan: the k nearest hits, best first.
func scanHits(chunks []*vecChunk, v []float32, k int, allowed []int64) []hit {
	var qc *queryCodes
	if slices.ContainsFunc(chunks, func(ch *vecChunk) bool { return ch.codes != nil }) {
		qc = newQueryCodes(v)
	}
	return scanParts(chunks, len(v), k, func(mine []*vecChunk, top *topK) {
		var buf scanBuffers
		kp, ceiling, complete := firstPass(qc, mine, k, allowed)
		defer keptPool.Put(kp)
		scan := func(ceiling float32, bounded bool) {
			for c, ch := range mine {
				kept, ok := kp.chunk(c)
				scanChunk(ch, v, qc, kept, ok && bounded, ceiling, allowed, top, &buf)
			}
		}
		// Without every slot within the ceiling kept, the codes decide
		// alone, within the same ceiling.
		scan(ceiling, complete)
		// A finite ceiling means k valid slots: finding fewer within it,
		// the first pass's bounds failed; the codes decide alone.
		if len(top.hits) < k && !math.IsInf(float64(ceiling), 1) {
			*top = newTopK(k)
			scan(float32(math.Inf(1)), false)
		}
	})
}

// scanParts splits chunks of dims dimensions between the CPU's cores
// (splitChunks), runs scan on each part into a topK of k, and returns the
// k best hits of all, best first.
func scanParts(chunks []*vecChunk, dims, k int, scan func(part []*vecChunk, top *topK)) []hit {
	workers := min(runtime.GOMAXPROCS(0), len(chunks))
	var total int
	for _, ch := range chunks {
		total += ch.used
	}
	if total*dims < 1<<18 { // under 1 MB, a second goroutine costs more than it saves
		workers = min(workers, 1)
	}
	tops := make([]topK, workers)
	parts := splitChunks(chunks, workers, total)
	var wg sync.WaitGroup
	for w := range tops {
		tops[w] = newTopK(k)
		wg.Go(func() { scan(parts[w], &tops[w]) })
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
	return all
}

// splitChunks splits chunks, of total used slots, into parts runs of
// consecutive chunks (parts at most len(chunks)) with about as many slots
// each: a worker's chunks then lie in one run of memory when packed
// (packPlanes).
func splitChunks(chunks []*vecChunk, parts, total int) [][]*vecChunk {
	out := make([][]*vecChunk, 0, parts)
	from, sum := 0, 0
	for i, ch := range chunks {
		sum += ch.used
		next := 0
		if i+1 < len(chunks) {
			next = chunks[i+1].used
		}
		// Part p ends at the chunk boundary nearest (p+1)/parts of the
		// total, each within half a chunk of it, leaving a chunk for
		// each part after.
		if p := len(out); p < parts-1 && ((2*sum+next)*parts >= 2*(p+1)*total || len(chunks)-1-i <= parts-1-p) {
			out = append(out, chunks[from:i+1])
			from = i + 1
		}
	}
	return append(out, chunks[from:])
}

// scanBuffers are a scan worker's buffers, reused from chunk to chunk.
type scanBuffers struct {
	dist  []float32
	slots []int32
}

// scanChunk offers to top the valid slots of ch whose rowid is in allowed
// (all when allowed is nil), by their distance from v: the floats', or
// the codes' estimate from qc within ceiling and top's bound, reading the
// codes of only the slots the first pass kept whose least distance is
// within it when bounded.
func scanChunk(ch *vecChunk, v []float32, qc *queryCodes, kept keptSlots, bounded bool, ceiling float32, allowed []int64, top *topK, buf *scanBuffers) {
	buf.dist = slices.Grow(buf.dist[:0], ch.used)[:ch.used]
	offer := func(j int, d float32) {
		if allowed != nil {
			if _, found := slices.BinarySearch(allowed, ch.rowids[j]); !found {
				return
			}
		}
		top.offer(hit{id: ch.rowids[j], d: d, pos: ch.base + uint32(j)})
	}
	if ch.codes != nil {
		// Only the slots that can enter the top k come back.
		buf.slots = slices.Grow(buf.slots[:0], ch.used)[:ch.used]
		var n int
		if bounded {
			n = nearKept(qc, ch, kept, min(ceiling, bound(top)), buf.slots, buf.dist, simdBest)
		} else {
			n = nearCodes(qc, ch, min(ceiling, bound(top)), buf.slots, buf.dist, simdBest)
		}
		for m, j := range buf.slots[:n] {
			offer(int(j), buf.dist[m])
		}
		return
	}
	l2Squared(v, ch.vectors, buf.dist, hasAVX2)
	for j, d := range buf.dist {
		if ch.valid(j) {
			offer(j, d)
		}
	}
}

// keptSlots are the slots of a chunk the first pass kept, in order, with
// their least distances.
type keptSlots struct {
	slots []int32
	lb    []float32
}

// kept is what a worker's first pass keeps for its second: chunk c's kept
// slots are slots[from[c]:from[c+1]] with their least distances in lb,
// and est holds their estimates while the pass runs. A chunk the first
// pass skipped has ran[c] false.
type kept struct {
	slots   []int32
	lb, est []float32
	from    []int
	ran     []bool
}

// chunk returns chunk c's kept slots; ok is false when the first pass
// skipped it.
func (kp *kept) chunk(c int) (_ keptSlots, ok bool) {
	if !kp.ran[c] {
		return keptSlots{}, false
	}
	return keptSlots{slots: kp.slots[kp.from[c]:kp.from[c+1]], lb: kp.lb[kp.from[c]:kp.from[c+1]]}, true
}

// keptPool recycles the buffers of first passes (firstPass).
var keptPool = sync.Pool{New: func() any { return new(kept) }}

// firstPass runs the first pass over the chunks with 2-bit codes
// (planeBounds), and returns what it kept of each chunk for the second
// pass, a ceiling that the k nearest by the codes cannot be beyond, and
// whether every slot whose least distance is within the ceiling was kept.
//
// The ceiling is the k-th least of the codes' distances of the
// ceilingSample x k slots whose 2-bit codes estimate them nearest (k
// slots do lie within it). The second pass then reads the codes of only
// the slots whose least distance is within the ceiling: with the bound of
// the top k found so far instead, early chunks would be read almost whole
// (and with the k-th least greatest distance, as the sign bits' pass
// first did, half of a random collection was read).
//
// The pass keeps of each chunk only the slots whose least distance is
// within its limit when it reaches the chunk, the greatest estimate of
// the sample so far (which only falls), plus q.margin: 5.1% of the
// slots at 1M random vectors, 1.2% at 10M. With every slot's least
// distance written and read back, the second pass took 14% of the scan's
// CPU at 10M; with the kept slots alone, 8% (docs/benchmarks.md).
//
// The ceiling often lies a little beyond the last limit, because the
// sample is the slots whose estimates erred low: by at most 0.0087 over
// 300 queries at 1M random vectors and 0.021 over 100 at 10M, where the
// margin is 0.039. Every slot within the ceiling was then kept; when one
// may not have been (estimates far below the codes' distances), complete
// is false and the caller reads every code. The result goes back to
// keptPool when the scan is done.
//
// A filtered scan (allowed not nil) skips the first pass: the ceiling
// would come from the allowed slots alone, looking each up in allowed,
// which cost twice the codes' scan with a filter passing 1% at 1M chunks
// (docs/benchmarks.md).
func firstPass(q *queryCodes, chunks []*vecChunk, k int, allowed []int64) (kp *kept, ceiling float32, complete bool) {
	kp = keptPool.Get().(*kept)
	kp.slots, kp.lb, kp.est = kp.slots[:0], kp.lb[:0], kp.est[:0]
	kp.from = append(kp.from[:0], 0)
	kp.ran = kp.ran[:0]
	nearest := newTopK(ceilingSample * k) // by estimate; id is chunk << 32 | slot
	for c, ch := range chunks {
		from := len(kp.slots)
		if ch.bits == nil || allowed != nil {
			kp.from, kp.ran = append(kp.from, from), append(kp.ran, false)
			continue
		}
		n := len(ch.scales)
		kp.slots = slices.Grow(kp.slots, n)[:from+n]
		kp.est = slices.Grow(kp.est, n)[:from+n]
		kp.lb = slices.Grow(kp.lb, n)[:from+n]
		limit := bound(&nearest)
		m := planeBounds(q, ch, limit+q.margin, kp.slots[from:], kp.est[from:], kp.lb[from:], simdBest)
		kp.slots, kp.est, kp.lb = kp.slots[:from+m], kp.est[:from+m], kp.lb[:from+m]
		kp.from, kp.ran = append(kp.from, from+m), append(kp.ran, true)
		for i := from; i < from+m; i++ {
			if kp.est[i] < limit {
				nearest.offer(hit{id: int64(c)<<32 | int64(kp.slots[i]), d: kp.est[i]})
				limit = bound(&nearest)
			}
		}
	}
	if len(nearest.hits) < k {
		return kp, float32(math.Inf(1)), true // every limit was +Inf: every valid slot kept
	}
	codes := make([]float32, len(nearest.hits))
	dims := len(q.codes)
	for m, h := range nearest.hits {
		ch, j := chunks[h.id>>32], int(h.id&(1<<32-1))
		var dot int32
		for i, c := range ch.codes[j*dims : (j+1)*dims] {
			dot += int32(q.codes[i]) * int32(c)
		}
		codes[m] = 2 - 2*q.scale*ch.scales[j]*float32(dot)
	}
	slices.Sort(codes)
	ceiling = codes[k-1]
	return kp, ceiling, ceiling <= bound(&nearest)+q.margin
}

// ceilingSample is how many times k slots, the nearest by their 2-bit
// codes, firstPass reads the codes of to set its ceiling at the k-th
// nearest of them: the estimates are rough, and the farthest of only k
// left the ceiling so high that half of a random collection's codes were
// read (a ceiling at distance 1.8 where the k-th nearest was at 1.62).
const ceilingSample = 4

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
