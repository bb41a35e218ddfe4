package rerank

import (
	"context"
	"time"
)

// SetSleep replaces the wait between retries of a remote reranker.
func SetSleep(r Reranker, sleep func(ctx context.Context, d time.Duration) error) {
	switch r := r.(type) {
	case *TEI:
		r.http.Sleep = sleep
	case *Cohere:
		r.http.Sleep = sleep
	}
}
