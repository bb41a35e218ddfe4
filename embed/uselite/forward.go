package uselite

import (
	"math"
)

// Model dimensions, as in the TF.js graph.
const (
	embedDim   = 256  // piece embeddings and layer 0's input
	modelDim   = 512  // layers' output and the sentence vector
	ffnDim     = 1536 // feed-forward hidden size
	numHeads   = 4    // attention heads in both layers
	maxPieces  = 128  // ClipToMaxLength: later pieces are dropped
	lnEpsilon  = 1e-6
	l2Epsilon  = 1e-12
	attnLayers = 2
)

// linear is a dense layer y = x·W + b whose weights are kept transposed
// (one row of in weights per output), so every dot product reads both
// operands contiguously.
type linear struct {
	wt      []float32 // out×in
	b       []float32
	in, out int
}

// layerNorm holds a layer normalisation's scale and bias.
type layerNorm struct {
	scale, bias []float32
}

// layer is one transformer layer of the graph: pre-norm self-attention and
// a pre-norm ReLU feed-forward block, each added to the residual stream.
// Layer 0 widens the stream from 256 to 512 with a dense projection of its
// input (AdjustResidualInput).
type layer struct {
	attLN, ffnLN layerNorm
	qkv, out     linear
	res          *linear // layer 0 only
	ffn1, ffn2   linear
	dim          int     // attention width (query, key and value each)
	qScale       float32 // 1/sqrt(head width), applied to the queries
}

// Epilogues of a matrix product.
const (
	epStore = iota // dst = x·W + b
	epAdd          // dst += x·W + b
	epReLU         // dst = max(0, x·W + b)
)

// apply computes rows rows of x·W + b from src (rows×in) into dst
// (rows×out) with the given epilogue. It works on 4×2 register tiles: each
// pair of weight rows stays in L1 while every input row streams past it.
func (l *linear) apply(dst, src []float32, rows, ep int) {
	in, out := l.in, l.out
	src = src[:rows*in]
	dst = dst[:rows*out]
	for j := 0; j < out; j += 2 {
		w0 := l.wt[j*in : (j+1)*in]
		w1 := l.wt[(j+1)*in : (j+2)*in]
		b0, b1 := l.b[j], l.b[j+1]
		i := 0
		for ; i+4 <= rows; i += 4 {
			x0 := src[i*in : (i+1)*in]
			x1 := src[(i+1)*in : (i+2)*in]
			x2 := src[(i+2)*in : (i+3)*in]
			x3 := src[(i+3)*in : (i+4)*in]
			w0, w1 := w0[:len(x0)], w1[:len(x0)]
			x1, x2, x3 = x1[:len(x0)], x2[:len(x0)], x3[:len(x0)]
			var c00, c01, c10, c11, c20, c21, c30, c31 float32
			for k, a0 := range x0 {
				u, v := w0[k], w1[k]
				a1, a2, a3 := x1[k], x2[k], x3[k]
				c00 += a0 * u
				c01 += a0 * v
				c10 += a1 * u
				c11 += a1 * v
				c20 += a2 * u
				c21 += a2 * v
				c30 += a3 * u
				c31 += a3 * v
			}
			store(dst[i*out+j:], c00+b0, c01+b1, ep)
			store(dst[(i+1)*out+j:], c10+b0, c11+b1, ep)
			store(dst[(i+2)*out+j:], c20+b0, c21+b1, ep)
			store(dst[(i+3)*out+j:], c30+b0, c31+b1, ep)
		}
		for ; i < rows; i++ {
			x0 := src[i*in : (i+1)*in]
			w0, w1 := w0[:len(x0)], w1[:len(x0)]
			var c0, c1, d0, d1 float32
			k := 0
			for ; k+2 <= len(x0); k += 2 {
				c0 += x0[k] * w0[k]
				c1 += x0[k] * w1[k]
				d0 += x0[k+1] * w0[k+1]
				d1 += x0[k+1] * w1[k+1]
			}
			for ; k < len(x0); k++ {
				c0 += x0[k] * w0[k]
				c1 += x0[k] * w1[k]
			}
			store(dst[i*out+j:], c0+d0+b0, c1+d1+b1, ep)
		}
	}
}

// store writes two adjacent outputs with epilogue ep.
func store(dst []float32, y0, y1 float32, ep int) {
	dst = dst[:2]
	switch ep {
	case epAdd:
		dst[0] += y0
		dst[1] += y1
	case epReLU:
		dst[0] = max(y0, 0)
		dst[1] = max(y1, 0)
	default:
		dst[0] = y0
		dst[1] = y1
	}
}

// normalizeRows applies ln to each of rows rows of width d from src into
// dst, in the graph's order: scale·rsqrt(var+ε)·(x−mean) + bias.
func (ln *layerNorm) normalizeRows(dst, src []float32, rows, d int) {
	for r := 0; r < rows; r++ {
		x := src[r*d : (r+1)*d]
		y := dst[r*d : (r+1)*d]
		var sum float64
		for _, v := range x {
			sum += float64(v)
		}
		mean := float32(sum / float64(d))
		var sq float64
		for _, v := range x {
			c := v - mean
			sq += float64(c * c)
		}
		inv := float32(1 / math.Sqrt(float64(float32(sq/float64(d))+lnEpsilon)))
		scale, bias := ln.scale[:d], ln.bias[:d]
		for k, v := range x {
			y[k] = scale[k]*inv*(v-mean) + bias[k]
		}
	}
}

// scratch holds one worker's buffers for a pack of up to rows pieces from
// several sentences; nothing is allocated while a pack runs.
type scratch struct {
	rows   int
	x0     []float32 // rows×embedDim: layer 0 input
	x      []float32 // rows×modelDim: residual stream
	h      []float32 // rows×modelDim: layer-norm output
	qkv    []float32 // rows×3·modelDim
	att    []float32 // rows×modelDim: attention output, heads concatenated
	ffn    []float32 // rows×ffnDim
	scores []float32 // maxPieces: one query's attention weights
	pooled []float32 // modelDim
	out    []float32 // modelDim
	tok    tokScratch
}

func newScratch(rows int) *scratch {
	return &scratch{
		rows:   rows,
		x0:     make([]float32, rows*embedDim),
		x:      make([]float32, rows*modelDim),
		h:      make([]float32, rows*modelDim),
		qkv:    make([]float32, rows*3*modelDim),
		att:    make([]float32, rows*modelDim),
		ffn:    make([]float32, rows*ffnDim),
		scores: make([]float32, maxPieces),
		pooled: make([]float32, modelDim),
		out:    make([]float32, modelDim),
	}
}

// span is one sentence's rows within a pack.
type span struct{ start, n int }

// forward runs the graph on a pack of sentences whose piece ids are
// concatenated in ids, one span per sentence, and writes each sentence's
// unit vector to outs[i]. Sentences never see each other: the graph masks
// padding, so packing changes no result.
func (m *Model) forward(ids []int32, spans []span, outs [][]float32, sc *scratch) {
	rows := len(ids)
	// Embedding plus timing signal. The graph adds the timing signal to the
	// gathered embeddings and then adds that sum to the embeddings again,
	// so every position holds 2·embedding + timing(position).
	half := embedDim / 2
	for _, sp := range spans {
		for p := 0; p < sp.n; p++ {
			r := sp.start + p
			e := m.emb[int(ids[r])*embedDim : (int(ids[r])+1)*embedDim]
			x := sc.x0[r*embedDim : (r+1)*embedDim]
			for k := 0; k < half; k++ {
				angle := float64(float32(p) * m.timing[k])
				x[k] = e[k] + (e[k] + float32(math.Sin(angle)))
				x[half+k] = e[half+k] + (e[half+k] + float32(math.Cos(angle)))
			}
		}
	}

	in, dIn := sc.x0, embedDim
	for li := range m.layers {
		l := &m.layers[li]
		l.attLN.normalizeRows(sc.h, in, rows, dIn)
		if l.res != nil {
			l.res.apply(sc.x, in, rows, epStore)
		}
		l.qkv.apply(sc.qkv, sc.h, rows, epStore)
		for _, sp := range spans {
			l.attend(sc, sp)
		}
		l.out.apply(sc.x, sc.att, rows, epAdd)
		l.ffnLN.normalizeRows(sc.h, sc.x, rows, modelDim)
		l.ffn1.apply(sc.ffn, sc.h, rows, epReLU)
		l.ffn2.apply(sc.x, sc.ffn, rows, epAdd)
		in, dIn = sc.x, modelDim
	}

	// Mean over the sentence's positions (at least one divisor), tanh
	// layer, L2 normalisation with the graph's epsilon.
	for s, sp := range spans {
		pooled := sc.pooled
		clear(pooled)
		for p := 0; p < sp.n; p++ {
			row := sc.x[(sp.start+p)*modelDim : (sp.start+p+1)*modelDim]
			for k, v := range row {
				pooled[k] += v
			}
		}
		div := float32(max(sp.n, 1))
		for k := range pooled {
			pooled[k] /= div
		}
		m.pool.apply(sc.out, pooled, 1, epStore)
		var sq float64
		for k, v := range sc.out {
			t := float32(math.Tanh(float64(v)))
			sc.out[k] = t
			sq += float64(t * t)
		}
		inv := float32(1 / math.Sqrt(max(sq, l2Epsilon)))
		dst := outs[s]
		for k, v := range sc.out {
			dst[k] = v * inv
		}
	}
}

// attend runs multi-head self-attention over one sentence's rows of
// sc.qkv (queries, keys, values of width l.dim each) into sc.att.
func (l *layer) attend(sc *scratch, sp span) {
	d := l.dim
	stride := 3 * d
	hd := d / numHeads
	qkv := sc.qkv[sp.start*stride : (sp.start+sp.n)*stride]
	att := sc.att[sp.start*d : (sp.start+sp.n)*d]
	scores := sc.scores[:sp.n]
	for h := 0; h < numHeads; h++ {
		for i := 0; i < sp.n; i++ {
			q := qkv[i*stride+h*hd : i*stride+(h+1)*hd]
			maxScore := float32(math.Inf(-1))
			for j := range scores {
				k := qkv[j*stride+d+h*hd : j*stride+d+(h+1)*hd]
				k = k[:len(q)]
				var s0, s1, s2, s3 float32
				c := 0
				for ; c+4 <= len(q); c += 4 {
					s0 += (q[c] * l.qScale) * k[c]
					s1 += (q[c+1] * l.qScale) * k[c+1]
					s2 += (q[c+2] * l.qScale) * k[c+2]
					s3 += (q[c+3] * l.qScale) * k[c+3]
				}
				s := (s0 + s1) + (s2 + s3)
				scores[j] = s
				maxScore = max(maxScore, s)
			}
			var sum float32
			for j, s := range scores {
				e := float32(math.Exp(float64(s - maxScore)))
				scores[j] = e
				sum += e
			}
			o := att[i*d+h*hd : i*d+(h+1)*hd]
			clear(o)
			for j, w := range scores {
				v := qkv[j*stride+2*d+h*hd : j*stride+2*d+(h+1)*hd]
				v = v[:len(o)]
				w /= sum
				for c := range o {
					o[c] += w * v[c]
				}
			}
		}
	}
}
