package ingest

import (
	"container/list"
	"context"
	"sync"
)

// Memory of the files being ingested. Extraction streams (no content
// stream, text node or page is held whole) and embedding goes in batches,
// so a worker needs a bounded amount of memory whatever the file expands
// to: BenchmarkBombRSS measures about 23 MiB for a 1 GiB DOCX bomb and
// under 1 MiB for a 1 GiB PDF stream. What remains proportional to the
// file is the parser's view of its structure (a PDF's cross-reference
// table and the objects it loads, the largest value of a JSON document).
// Each running file reserves fileMemory from a budget shared by all
// workers, waiting for it when the budget is spent, so that workers
// together stay within it.

// DefaultMemoryBudget is the default Config.MemoryBudget.
const DefaultMemoryBudget = 1 << 30

// workerMemory is what one file's ingest needs whatever its size:
// decoding windows, segments, a batch of chunks and their vectors.
const workerMemory = 32 << 20

// fileMemory returns the reservation for a file of size bytes: at most
// the whole budget, so that a file larger than the budget allows runs
// alone rather than never.
func (g *Ingester) fileMemory(size int64) int64 {
	return min(workerMemory+2*size, g.memory.size)
}

// memoryBudget is a weighted semaphore of bytes that serves waiters in
// the order they came, so that a large reservation is not starved by
// small ones.
type memoryBudget struct {
	size    int64
	mu      sync.Mutex
	used    int64
	waiters list.List // of *memoryWaiter
}

type memoryWaiter struct {
	n     int64
	ready chan struct{} // closed when the bytes are granted
}

func newMemoryBudget(size int64) *memoryBudget { return &memoryBudget{size: size} }

// acquire reserves n bytes (at most size), waiting until they are free
// and every earlier waiter is served; it returns ctx's error, having
// reserved nothing, if ctx ends first.
func (m *memoryBudget) acquire(ctx context.Context, n int64) error {
	m.mu.Lock()
	if m.waiters.Len() == 0 && m.used+n <= m.size {
		m.used += n
		m.mu.Unlock()
		return nil
	}
	w := &memoryWaiter{n: n, ready: make(chan struct{})}
	elem := m.waiters.PushBack(w)
	m.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		m.mu.Lock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			m.used -= n
			m.grant()
		default:
			isFront := m.waiters.Front() == elem
			m.waiters.Remove(elem)
			if isFront { // the next waiters may fit now
				m.grant()
			}
		}
		m.mu.Unlock()
		return ctx.Err()
	}
}

// release returns n bytes reserved by acquire.
func (m *memoryBudget) release(n int64) {
	m.mu.Lock()
	m.used -= n
	m.grant()
	m.mu.Unlock()
}

// grant serves the waiters at the front that fit; m.mu is held.
func (m *memoryBudget) grant() {
	for e := m.waiters.Front(); e != nil; e = m.waiters.Front() {
		w := e.Value.(*memoryWaiter)
		if m.used+w.n > m.size {
			return
		}
		m.used += w.n
		m.waiters.Remove(e)
		close(w.ready)
	}
}
