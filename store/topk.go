package store

import "container/heap"

// bestK keeps the best k values offered, the worst of them on top of a
// heap, so that a scan compares each new value with one kept value: the
// vector scan's nearest hits (topK) and the keyword ranking's best
// candidates (keywords.go).
type bestK[T any] struct {
	k     int
	hits  []T
	worse func(a, b T) bool // a ranks below b
}

func (t *bestK[T]) Len() int           { return len(t.hits) }
func (t *bestK[T]) Less(i, j int) bool { return t.worse(t.hits[i], t.hits[j]) }
func (t *bestK[T]) Swap(i, j int)      { t.hits[i], t.hits[j] = t.hits[j], t.hits[i] }
func (t *bestK[T]) Push(x any)         { t.hits = append(t.hits, x.(T)) }
func (t *bestK[T]) Pop() any {
	x := t.hits[len(t.hits)-1]
	t.hits = t.hits[:len(t.hits)-1]
	return x
}

// full reports whether k values are kept: from then on a value enters
// only by beating the worst, t.hits[0].
func (t *bestK[T]) full() bool { return len(t.hits) >= t.k }

// offer keeps x if it is among the best k so far.
func (t *bestK[T]) offer(x T) {
	switch {
	case !t.full():
		heap.Push(t, x)
	case t.worse(t.hits[0], x):
		t.hits[0] = x
		heap.Fix(t, 0)
	}
}
