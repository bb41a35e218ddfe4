package store

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// vecFile keeps the float vectors of a quantized collection in an unlinked
// temporary file beside the database, one record per sqlite-vec slot: the
// slot's rowid, then its floats. Rescoring a quantized search's candidates
// reads each one's record with one pread, a microsecond or two from the
// page cache, where reading it through sqlite-vec costs about 35 us: the
// vector sits deep in its chunk's 1.5 MB blob, and SQLite walks the
// blob's chain of overflow pages to reach it; an exact search reads a
// chunk's records with one pread (readChunk), 3.8x faster than the scan
// of the database at 100k chunks. The kernel's page cache
// holds the file, not the process, so the process's memory stays the
// codes' (docs/benchmarks.md); under memory pressure the kernel drops the
// pages and a read goes to disk.
//
// A record is current when its rowid is the candidate's: sqlite-vec never
// changes a slot's vector without giving the slot a new rowid (vecCache),
// so a search of an older snapshot that finds a slot rewritten since
// reads that vector from its own transaction instead (rescoreExact).
// Writes and reads of records exclude each other, so a read never sees a
// record half written.
//
// Chunk IDs come from an AUTOINCREMENT column, and a collection's chunks
// leave sqlite-vec only with the collection, so a chunk's records are
// never handed to another chunk while the file lives.
type vecFile struct {
	mu   sync.RWMutex
	f    *os.File // nil until the first write, and after close or a failed write
	dir  string
	log  *slog.Logger
	dims int
	// size is the bytes the collection's records take, for the check of
	// free disk space before the file is created.
	size  int64
	off   bool             // closed, failed, or refused for want of disk space: never written again
	bases map[int64]uint32 // the record of each chunk's slot 0, by chunk ID
	next  uint32
}

// minFreeDisk is the disk space a vecFile leaves free in its directory
// beyond its own size: it must not take the room the database, its WAL
// and ingests need. A directory with less is left without a file.
const minFreeDisk = 1 << 30

func newVecFile(dir string, dims int, chunks int64, log *slog.Logger) *vecFile {
	vf := &vecFile{dir: dir, log: log, dims: dims, bases: map[int64]uint32{}}
	vf.size = chunks * vf.recordSize()
	return vf
}

func (vf *vecFile) recordSize() int64 { return 8 + 4*int64(vf.dims) }

// base returns the record of slot 0 of chunk id, of slots slots, assigning
// it on first use. Chunks of one table have the same number of slots.
func (vf *vecFile) base(id int64, slots int) uint32 {
	vf.mu.Lock()
	defer vf.mu.Unlock()
	if b, ok := vf.bases[id]; ok {
		return b
	}
	b := vf.next
	vf.next += uint32(slots)
	vf.bases[id] = b
	return b
}

// write stores the used slots of ch, whose floats blob holds, at ch.base.
// A failure (a full disk) is logged once and turns the file off: searches
// then read every vector through SQLite, as before the file existed.
func (vf *vecFile) write(ch *vecChunk, blob []byte) {
	size := vf.recordSize()
	// A chunk's records are 1.5 MB at 384 dimensions: a fresh buffer for
	// each cost twice the write itself in page faults and collection.
	pooled := recordBufs.Get().(*[]byte)
	defer recordBufs.Put(pooled)
	buf := slices.Grow((*pooled)[:0], int(int64(ch.used)*size))[:int64(ch.used)*size]
	*pooled = buf
	for i := range ch.used {
		r := buf[int64(i)*size:]
		binary.LittleEndian.PutUint64(r, uint64(ch.rowids[i]))
		copy(r[8:size], blob[i*4*vf.dims:(i+1)*4*vf.dims])
	}
	vf.mu.Lock()
	defer vf.mu.Unlock()
	if vf.off {
		return
	}
	err := vf.openLocked()
	if err == nil {
		_, err = vf.f.WriteAt(buf, int64(ch.base)*size)
	}
	if err != nil {
		vf.log.Warn("vector file: this collection's quantized searches read vectors from the database", "dir", vf.dir, "err", err)
		vf.closeLocked()
	}
}

// recordBufs recycles the buffers write assembles a chunk's records in.
var recordBufs = sync.Pool{New: func() any { return new([]byte) }}

// openLocked creates the file, if the disk has room for it and
// minFreeDisk more, and unlinks it at once, so that it goes away with the
// process however the process ends.
func (vf *vecFile) openLocked() error {
	if vf.f != nil {
		return nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(vf.dir, &st); err != nil {
		return err
	}
	if free := int64(st.Bavail) * st.Bsize; free < vf.size+minFreeDisk {
		return fmt.Errorf("%d bytes free, under the file's %d bytes plus %d", free, vf.size, minFreeDisk)
	}
	f, err := os.CreateTemp(vf.dir, ".ragd-vectors-*")
	if err != nil {
		return err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return err
	}
	vf.f = f
	return nil
}

// read copies the vector of each hit whose record is current into vecs
// (dims floats each, in the order of hits) and returns the indexes of the
// hits it could not read, for the caller to read from its transaction. A
// record never written reads as zeros, and no rowid is 0.
func (vf *vecFile) read(hits []hit, vecs []float32) (missed []int) {
	size := vf.recordSize()
	rec := make([]byte, size)
	vf.mu.RLock()
	defer vf.mu.RUnlock()
	for i, h := range hits {
		if vf.f == nil {
			missed = append(missed, i)
			continue
		}
		if _, err := vf.f.ReadAt(rec, int64(h.pos)*size); err != nil || int64(binary.LittleEndian.Uint64(rec)) != h.id {
			missed = append(missed, i)
			continue
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&vecs[i*vf.dims])), 4*vf.dims), rec[8:])
	}
	return missed
}

// readChunk reads the records of ch's used slots into raw and their
// floats into floats (both grown as needed) and returns them; ok is false
// when the file is off or a valid slot's record is not its current
// vector (rewritten since, or never written).
func (vf *vecFile) readChunk(ch *vecChunk, raw []byte, floats []float32) (_ []byte, _ []float32, ok bool) {
	size := int(vf.recordSize())
	raw = slices.Grow(raw[:0], ch.used*size)[:ch.used*size]
	floats = slices.Grow(floats[:0], ch.used*vf.dims)[:ch.used*vf.dims]
	vf.mu.RLock()
	if vf.f == nil {
		vf.mu.RUnlock()
		return raw, floats, false
	}
	_, err := vf.f.ReadAt(raw, int64(ch.base)*int64(size))
	vf.mu.RUnlock()
	if err != nil {
		return raw, floats, false
	}
	for j := range ch.used {
		r := raw[j*size : (j+1)*size]
		if ch.valid(j) && int64(binary.LittleEndian.Uint64(r)) != ch.rowids[j] {
			return raw, floats, false
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&floats[j*vf.dims])), 4*vf.dims), r[8:])
	}
	return raw, floats, true
}

// close releases the file, and its disk space with it, for good: a load
// still running for a collection the cache dropped writes nothing more.
func (vf *vecFile) close() {
	vf.mu.Lock()
	defer vf.mu.Unlock()
	vf.closeLocked()
}

func (vf *vecFile) closeLocked() {
	vf.off = true
	if vf.f != nil {
		vf.f.Close()
		vf.f = nil
	}
}
