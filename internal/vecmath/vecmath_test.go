package vecmath

import (
	"math"
	"testing"
)

func TestCosine(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b []float32
		want float64
	}{
		{"Same", []float32{1, 2, 3}, []float32{2, 4, 6}, 1},
		{"Opposite", []float32{1, 0}, []float32{-3, 0}, -1},
		{"Orthogonal", []float32{1, 0}, []float32{0, 5}, 0},
		{"Angle", []float32{1, 0}, []float32{1, 1}, math.Sqrt2 / 2},
		{"Zero", []float32{0, 0}, []float32{1, 1}, 0},
	} {
		if got := Cosine(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: Cosine = %v, want %v", c.name, got, c.want)
		}
	}
}
