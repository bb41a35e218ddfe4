package par

import (
	"sync/atomic"
	"testing"
)

// Every index is done exactly once, whatever the count against minPer
// (none, fewer than one worker's share, many workers' shares), and each
// goroutine asks for its function once.
func TestEach(t *testing.T) {
	for _, c := range []struct{ n, minPer int }{{0, 4}, {3, 4}, {4, 4}, {1000, 16}, {1000, 1}} {
		done := make([]atomic.Int32, c.n)
		var workers atomic.Int32
		Each(c.n, c.minPer, func() func(int) {
			workers.Add(1)
			return func(i int) { done[i].Add(1) }
		})
		for i := range done {
			if got := done[i].Load(); got != 1 {
				t.Fatalf("n %d, minPer %d: index %d done %d times", c.n, c.minPer, i, got)
			}
		}
		if w := int(workers.Load()); c.n > 0 && (w < 1 || w > (c.n+c.minPer-1)/c.minPer) || c.n == 0 && w != 0 {
			t.Errorf("n %d, minPer %d: %d workers", c.n, c.minPer, w)
		}
	}
}
