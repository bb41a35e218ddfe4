package vecmath

import (
	"bytes"
	"io"
	"math"
	"slices"
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

// TestBytes checks the byte encoding of vectors: little-endian float32s
// whatever the machine, Floats its inverse, ReadFloats reading it.
func TestBytes(t *testing.T) {
	v := []float32{1, -2.5, float32(math.Inf(1)), math.SmallestNonzeroFloat32}
	b := Bytes(v)
	want := []byte{0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0, 0, 0, 0x80, 0x7f, 1, 0, 0, 0}
	if !bytes.Equal(b, want) {
		t.Fatalf("Bytes(%v) = % x, want % x", v, b, want)
	}
	if got := Floats(b); !slices.Equal(got, v) {
		t.Errorf("Floats = %v, want %v", got, v)
	}
	if got := Floats(b); &got[0] == &v[0] {
		t.Error("Floats returned the bytes' memory, want new memory")
	}
	full := func(p []byte) error { _, err := io.ReadFull(bytes.NewReader(b), p); return err }
	got, err := ReadFloats(len(v), full)
	if err != nil || !slices.Equal(got, v) {
		t.Errorf("ReadFloats = %v, %v; want %v", got, err, v)
	}
	short := func(p []byte) error { _, err := io.ReadFull(bytes.NewReader(b[:5]), p); return err }
	if got, err := ReadFloats(len(v), short); err == nil {
		t.Errorf("ReadFloats of 5 bytes = %v, want an error", got)
	}
	if b := Bytes(nil); b == nil || len(b) != 0 {
		t.Errorf("Bytes(nil) = %#v, want an empty slice", b)
	}
}
