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
// (rows×out) with the given epilogue, in 4×2 tiles (four input rows by two
// weight rows) computed by dot4x2: AVX2/FMA assembly where the CPU has it,
// portable Go otherwise. Each pair of weight rows stays in L1 while the
// input rows stream past it. A last partial tile repeats its rows (stride
// 0) and keeps one result per row.
func (l *linear) apply(dst, src []float32, rows, ep int) {
	in, out := l.in, l.out
	src = src[:rows*in]
	dst = dst[:rows*out]
	var acc [8]float32
	for first := 0; first < rows; first += rowBlock {
		last := min(first+rowBlock, rows)
		for j := 0; j < out; j += 2 {
			w := l.wt[j*in : (j+2)*in]
			b0, b1 := l.b[j], l.b[j+1]
			i := first
			for ; i+4 <= last; i += 4 {
				dot4x2(src[i*in:], in, w, in, in, &acc)
				for r := range 4 {
					store(dst[(i+r)*out+j:], acc[2*r]+b0, acc[2*r+1]+b1, ep)
				}
			}
			for ; i < last; i++ {
				dot4x2(src[i*in:], 0, w, in, in, &acc)
				store(dst[i*out+j:], acc[0]+b0, acc[1]+b1, ep)
			}
		}
	}
}

// rowBlock is how many input rows apply keeps in L2 while all weight rows
// stream past them.
const rowBlock = 64

// dot4x2Go is the portable dot4x2: eight accumulators, one per output.
func dot4x2Go(x []float32, xstride int, w []float32, wstride, n int, out *[8]float32) {
	x0 := x[:n]
	x1 := x[xstride : xstride+n]
	x2 := x[2*xstride : 2*xstride+n]
	x3 := x[3*xstride : 3*xstride+n]
	w0 := w[:n]
	w1 := w[wstride : wstride+n]
	var c00, c01, c10, c11, c20, c21, c30, c31 float32
	for k := 0; k < n; k++ {
		u, v := w0[k], w1[k]
		a0, a1, a2, a3 := x0[k], x1[k], x2[k], x3[k]
		c00 += a0 * u
		c01 += a0 * v
		c10 += a1 * u
		c11 += a1 * v
		c20 += a2 * u
		c21 += a2 * v
		c30 += a3 * u
		c31 += a3 * v
	}
	*out = [8]float32{c00, c01, c10, c11, c20, c21, c30, c31}
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
	scores []float32 // maxPieces²: one head's attention weights
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
		scores: make([]float32, maxPieces*maxPieces),
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
		l.scaleQueries(sc, rows)
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
// sc.qkv (queries, keys, values of width l.dim each) into sc.att. As in
// the graph, the queries are scaled before their products with the keys
// (l.scaleQueries); the products run through the dot4x2 kernel, a last
// partial tile repeating its row (stride 0).
func (l *layer) attend(sc *scratch, sp span) {
	d := l.dim
	stride := 3 * d
	hd := d / numHeads
	n := sp.n
	if n == 0 {
		return
	}
	qkv := sc.qkv[sp.start*stride : (sp.start+n)*stride]
	att := sc.att[sp.start*d : (sp.start+n)*d]
	scores := sc.scores[:n*n]
	var acc [8]float32
	for h := 0; h < numHeads; h++ {
		q, k := qkv[h*hd:], qkv[d+h*hd:]
		for i := 0; i < n; {
			tile, qs := 4, stride
			if i+4 > n {
				tile, qs = 1, 0
			}
			for j := 0; j < n; j += 2 {
				ks := stride
				if j+1 == n {
					ks = 0
				}
				dot4x2(q[i*stride:], qs, k[j*stride:], ks, hd, &acc)
				for r := range tile {
					scores[(i+r)*n+j] = acc[2*r]
					if j+1 < n {
						scores[(i+r)*n+j+1] = acc[2*r+1]
					}
				}
			}
			i += tile
		}
		for i := 0; i < n; i++ {
			row := scores[i*n : (i+1)*n]
			maxScore := float32(math.Inf(-1))
			for _, s := range row {
				maxScore = max(maxScore, s)
			}
			var sum float32
			for j, s := range row {
				e := float32(math.Exp(float64(s - maxScore)))
				row[j] = e
				sum += e
			}
			o := att[i*d+h*hd : i*d+(h+1)*hd]
			clear(o)
			for j, w := range row {
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

// scaleQueries multiplies the query third of rows rows of sc.qkv by the
// layer's 1/sqrt(head width).
func (l *layer) scaleQueries(sc *scratch, rows int) {
	for r := 0; r < rows; r++ {
		q := sc.qkv[r*3*l.dim : r*3*l.dim+l.dim]
		for c := range q {
			q[c] *= l.qScale
		}
	}
}
