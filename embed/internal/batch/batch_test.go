package batch

import (
	"context"
	"errors"
	"strconv"
	"testing"
)

func TestEmbedKeepsOrder(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 1000} {
		texts := make([]string, n)
		for i := range texts {
			texts[i] = strconv.Itoa(i)
		}
		out, err := Embed(context.Background(), texts, 3, func(text string, v []float32) {
			i, _ := strconv.Atoi(text)
			v[0], v[2] = float32(i), float32(-i)
		})
		if err != nil || len(out) != n {
			t.Fatalf("n=%d: %d vectors, err %v", n, len(out), err)
		}
		for i, v := range out {
			if len(v) != 3 || cap(v) != 3 || v[0] != float32(i) || v[1] != 0 || v[2] != float32(-i) {
				t.Fatalf("n=%d: vector %d = %v (cap %d)", n, i, v, cap(v))
			}
		}
	}
}

func TestEmbedCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	_, err := Embed(ctx, make([]string, 100), 2, func(string, []float32) { calls++ })
	if !errors.Is(err, context.Canceled) || calls != 0 {
		t.Fatalf("err %v after %d calls, want context.Canceled before any", err, calls)
	}
}
