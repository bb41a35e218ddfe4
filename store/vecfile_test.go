package store

import (
	"log/slog"
	"slices"
	"testing"
	"unsafe"
)

// A vecFile gives back the vectors it was given, each only for the rowid
// it was written with: a hit whose rowid its record does not hold (a slot
// reused since the hit's snapshot), whose record was never written or lies
// past the end, and every hit once the file is closed, is left to the
// caller's transaction.
func TestVecFileRecords(t *testing.T) {
	const dims, slots = 5, 8
	vf := newVecFile(t.TempDir(), dims, 16, nil)
	chunk := func(id int64, rowids []int64) (*vecChunk, []float32) {
		ch := &vecChunk{id: id, rowids: make([]int64, slots), used: len(rowids)}
		copy(ch.rowids, rowids)
		ch.base = vf.base(id, slots)
		floats := make([]float32, slots*dims)
		for i := range len(rowids) * dims {
			floats[i] = float32(id*1000) + float32(i)
		}
		vf.write(ch, unsafe.Slice((*byte)(unsafe.Pointer(&floats[0])), 4*len(floats)))
		return ch, floats
	}
	a, fa := chunk(1, []int64{10, 11, 12})
	b, fb := chunk(2, []int64{20, 21})
	if a.base == b.base {
		t.Fatalf("chunks 1 and 2 share base %d", a.base)
	}
	if got := vf.base(1, slots); got != a.base {
		t.Fatalf("chunk 1's base moved from %d to %d", a.base, got)
	}
	hits := []hit{
		{id: 21, pos: b.base + 1},
		{id: 10, pos: a.base},
		{id: 13, pos: a.base + 2}, // slot 2 holds rowid 12
		{id: 12, pos: a.base + 2},
		{id: 14, pos: a.base + 3}, // never written
		{id: 15, pos: 1 << 20},    // past the end
	}
	vecs := make([]float32, len(hits)*dims)
	missed := vf.read(hits, vecs)
	if want := []int{2, 4, 5}; !slices.Equal(missed, want) {
		t.Fatalf("missed %v, want %v", missed, want)
	}
	for i, want := range [][]float32{fb[dims : 2*dims], fa[:dims], nil, fa[2*dims : 3*dims]} {
		if want != nil && !slices.Equal(vecs[i*dims:(i+1)*dims], want) {
			t.Errorf("hit %d read %v, want %v", i, vecs[i*dims:(i+1)*dims], want)
		}
	}

	vf.close()
	if missed := vf.read(hits[:2], vecs); len(missed) != 2 {
		t.Errorf("a closed file read %d of 2 hits", 2-len(missed))
	}
	// A load still running when the collection left the cache writes nothing.
	chunk(3, []int64{30})
	if vf.f != nil {
		t.Error("a write after close opened the file again")
	}
}

// A vecFile that would leave less than minFreeDisk free on its disk is
// never created: its reads all go to the database.
func TestVecFileLeavesDiskFree(t *testing.T) {
	const dims = 4
	vf := newVecFile(t.TempDir(), dims, 1<<50, nil) // a petabyte of records
	vf.log = slog.New(slog.DiscardHandler)
	ch := &vecChunk{id: 1, rowids: []int64{7}, used: 1, base: vf.base(1, 1)}
	vf.write(ch, make([]byte, 4*dims))
	if vf.f != nil {
		t.Fatal("the file was created without room for it on the disk")
	}
	if missed := vf.read([]hit{{id: 7, pos: ch.base}}, make([]float32, dims)); len(missed) != 1 {
		t.Errorf("read %d records from a file never created", 1-len(missed))
	}
}
