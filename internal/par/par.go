// Package par runs the work of a batch's items on all cores: the hash
// model's texts and a batch insert's own vectors share its one loop.
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Each calls the functions that worker returns for the indices 0 to n-1,
// each index once, on up to GOMAXPROCS goroutines, one for every minPer
// indices at least (a goroutine costs a few microseconds: fewer items
// than that are not worth one more), each taking the next index not yet
// taken. Each goroutine calls worker once, so that what it returns can
// keep scratch space of its own. Each returns when every call returned.
func Each(n, minPer int, worker func() func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), (n+minPer-1)/minPer) {
		wg.Go(func() {
			f := worker()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		})
	}
	wg.Wait()
}
