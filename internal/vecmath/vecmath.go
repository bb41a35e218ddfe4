// Package vecmath holds the vector arithmetic that packages outside the
// store's scan kernels share, and the one encoding of float32 vectors as
// bytes that the store, the cluster's log and the API all use.
package vecmath

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// Cosine returns the cosine similarity of a and b, computed in float64;
// 0 when either is zero. Its callers compare few vectors (memories, a
// reranker's candidates), so it favours precision over speed.
func Cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// LittleEndian holds on machines whose float32 memory is already the
// little-endian bytes Bytes returns: every machine ragd is built for in
// practice (amd64, arm64), where Bytes and ReadFloats copy nothing extra.
var LittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// Bytes returns v as little-endian float32 bytes: the blob sqlite-vec
// stores, the vectors of the cluster's log, OpenAI's base64 embeddings.
// On a little-endian machine it is v's own memory, not a copy, so that a
// bulk write does not allocate and fill 1.5 KB a vector to hand it on:
// the caller must change neither v nor the bytes while it uses them.
func Bytes(v []float32) []byte {
	if LittleEndian {
		if len(v) == 0 {
			return []byte{}
		}
		return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
	}
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// Floats returns the float32 values of b, little-endian bytes whose
// length is a multiple of 4, in new memory.
func Floats(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	if LittleEndian {
		copy(Bytes(v), b)
		return v
	}
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// ReadFloats returns n float32 values read as 4n little-endian bytes by
// read (which fills its whole argument or fails), into the new vector's
// own memory where the machine allows: a decoder then copies each vector
// once instead of into a buffer and again into floats.
func ReadFloats(n int, read func([]byte) error) ([]float32, error) {
	if !LittleEndian {
		b := make([]byte, 4*n)
		if err := read(b); err != nil {
			return nil, err
		}
		return Floats(b), nil
	}
	v := make([]float32, n)
	if err := read(Bytes(v)); err != nil {
		return nil, err
	}
	return v, nil
}
