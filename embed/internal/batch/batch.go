// Package batch runs the built-in word-vector models over a batch of
// texts on all CPUs. Those models embed one text at a time with no state
// shared between texts, so a batch splits into interleaved strides, one
// goroutine each.
package batch

import (
	"context"
	"runtime"
	"sync"
)

// Embed returns one dims-long vector per text, in order, written by
// embedOne (which receives a zeroed vector) on up to GOMAXPROCS
// goroutines, one per 16 texts at least. It returns ctx.Err() when ctx is
// done.
func Embed(ctx context.Context, texts []string, dims int, embedOne func(text string, v []float32)) ([][]float32, error) {
	out := make([][]float32, len(texts))
	flat := make([]float32, len(texts)*dims)
	for i := range out {
		out[i] = flat[i*dims : (i+1)*dims : (i+1)*dims]
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), (len(texts)+15)/16))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(texts); i += workers {
				if err := ctx.Err(); err != nil {
					errs[w] = err
					return
				}
				embedOne(texts[i], out[i])
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
