package store

/*
#include <stdlib.h> // defines __GLIBC__ with glibc
#ifdef __GLIBC__
#include <malloc.h>
#endif

// ragd_keep_heap makes glibc's malloc keep up to trim bytes free at the
// top of a heap instead of returning them to the kernel, and serve
// allocations below mmap bytes from the heap.
static void ragd_keep_heap(int trim, int mmap) {
#ifdef __GLIBC__
	mallopt(M_TRIM_THRESHOLD, trim);
	mallopt(M_MMAP_THRESHOLD, mmap);
#else
	(void)trim; (void)mmap;
#endif
}
*/
import "C"

// SQLite's heap, kept between statements.
//
// A write statement that changes pages of a large index in many places
// (a bulk insert whose metadata values are spread over their range)
// copies each page it changes into its statement journal, in memory, in
// 1 KiB allocations, and frees them all when it ends: megabytes a
// statement. glibc returns free memory at the top of its heap to the
// kernel once it passes 128 KiB, so the next statement faulted the same
// memory in again, page by page, a fault each 4 KiB: 1,200-1,600 faults
// a statement in TestSQLiteKeepsFreedHeap, and 1,500 a batch in a bulk
// load, a third of the writer's time (docs/benchmarks.md, "Session 22").
// Keeping up to keepHeapTrim bytes free costs at most that much memory
// per malloc arena, and measured 13-23 MB of peak RSS in that load.
const (
	keepHeapTrim = 64 << 20
	// keepHeapMmap: fixing the trim threshold also fixes glibc's
	// threshold for allocating with mmap, which otherwise rises with the
	// largest block freed, at 128 KiB; a statement's bound blobs (a
	// batch's rows, megabytes) would then each be mapped, faulted in and
	// unmapped.
	keepHeapMmap = 4 << 20
)

// keepHeap applies keepHeapTrim and keepHeapMmap to the process's C
// heap; without glibc it does nothing.
func keepHeap() { C.ragd_keep_heap(keepHeapTrim, keepHeapMmap) }
