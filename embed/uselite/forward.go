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

// kBlock is how many input features one pass of linear.apply multiplies:
// the kBlock×32 slice of a pair of weight panels (32 KB) stays in L1/L2
// while every row tile of the pack streams past it, and the pack's
// kBlock-wide slice of the input (up to 256 KB) stays in L2. (128 measured
// no faster.)
const kBlock = 256

// linear is a dense layer y = x·W + b. The weights are packed for the
// tile kernels: out/16 panels, each the in×16 block of W for 16
// consecutive outputs, row by row, so a tile reads 64 contiguous bytes of
// each of its two panels per input.
type linear struct {
	wp      []float32 // (out/16)×in×16
	b       []float32
	in, out int
}

// newLinear packs w (in×out, row-major) and its bias for apply; out must
// be a multiple of 32 (tileCols).
func newLinear(w, b []float32, in, out int) linear {
	wp := make([]float32, in*out)
	for p := 0; p < out/panelCols; p++ {
		panel := wp[p*in*panelCols : (p+1)*in*panelCols]
		for k := 0; k < in; k++ {
			copy(panel[k*panelCols:(k+1)*panelCols], w[k*out+p*panelCols:])
		}
	}
	return linear{wp: wp, b: b, in: in, out: out}
}

// layerNorm holds a layer normalisation's scale and bias.
type layerNorm struct {
	scale, bias []float32
}

// layer is one transformer layer of the graph: pre-norm self-attention and
// a pre-norm ReLU feed-forward block, each added to the residual stream.
// Layer 0 widens the stream from 256 to 512 with a dense projection of its
// input (AdjustResidualInput). The queries' 1/sqrt(head width) is folded
// into the query weights and bias of qkv.
type layer struct {
	attLN, ffnLN layerNorm
	qkv, out     linear
	res          *linear // layer 0 only
	ffn1, ffn2   linear
	dim          int // attention width (query, key and value each)
}

// Epilogues of a matrix product.
const (
	epStore = iota // dst = x·W + b
	epAdd          // dst += x·W + b
	epReLU         // dst = max(0, x·W + b)
)

// apply computes rows rows of x·W + b from src (rows×in) into dst
// (rows×out) with the given epilogue. dst starts as the bias (plus its
// old value for epAdd); then, for each kBlock-wide slice of the inputs
// and each pair of weight panels, gemmTile adds the products of all row
// tiles (6 rows by 32 outputs).
func (l *linear) apply(dst, src []float32, rows, ep int) {
	in, out := l.in, l.out
	src = src[:rows*in]
	dst = dst[:rows*out]
	for r := 0; r < rows; r++ {
		row := dst[r*out : (r+1)*out]
		if ep == epAdd {
			for j, b := range l.b[:out] {
				row[j] += b
			}
		} else {
			copy(row, l.b)
		}
	}
	for k0 := 0; k0 < in; k0 += kBlock {
		kc := min(kBlock, in-k0)
		flags := tileAcc
		if ep == epReLU && k0+kc == in {
			flags |= tileReLU
		}
		for p := 0; p < out/panelCols; p += 2 {
			w := l.wp[(p*in+k0)*panelCols : ((p+1)*in+k0+kc)*panelCols]
			for i := 0; i < rows; i += tileRows {
				gemmTile(src[i*in+k0:], in, w, panelCols, in*panelCols, dst[i*out+p*panelCols:], out, kc, min(tileRows, rows-i), flags)
			}
		}
	}
}

// normalizeRows applies ln to each of rows rows of width d (a multiple of
// 4) from src into dst, in the graph's order: scale·rsqrt(var+ε)·(x−mean)
// + bias, summing in float32 with four accumulators.
func (ln *layerNorm) normalizeRows(dst, src []float32, rows, d int) {
	scale, bias := ln.scale[:d], ln.bias[:d]
	for r := 0; r < rows; r++ {
		x := src[r*d : (r+1)*d]
		y := dst[r*d : (r+1)*d]
		var s0, s1, s2, s3 float32
		for k := 0; k+4 <= len(x); k += 4 {
			s0 += x[k]
			s1 += x[k+1]
			s2 += x[k+2]
			s3 += x[k+3]
		}
		mean := (s0 + s1 + s2 + s3) / float32(d)
		s0, s1, s2, s3 = 0, 0, 0, 0
		for k := 0; k+4 <= len(x); k += 4 {
			c0, c1, c2, c3 := x[k]-mean, x[k+1]-mean, x[k+2]-mean, x[k+3]-mean
			s0 += c0 * c0
			s1 += c1 * c1
			s2 += c2 * c2
			s3 += c3 * c3
		}
		inv := float32(1 / math.Sqrt(float64((s0+s1+s2+s3)/float32(d)+lnEpsilon)))
		for k, v := range x {
			y[k] = scale[k]*inv*(v-mean) + bias[k]
		}
	}
}

// scratch holds one worker's buffers for a pack of up to rows pieces from
// up to rows sentences; nothing is allocated while a pack runs.
type scratch struct {
	x0     []float32 // rows×embedDim: layer 0 input
	x      []float32 // rows×modelDim: residual stream
	h      []float32 // rows×modelDim: layer-norm output; then tanh layer output
	qkv    []float32 // rows×3·modelDim; then sentences' mean FFN activations
	att    []float32 // rows×modelDim: attention output; then sentences' mean stream
	ffn    []float32 // rows×ffnDim
	keys   []float32 // one head's keys packed in 16-key panels
	scores []float32 // maxPieces²: one head's attention weights
	tok    tokScratch
}

func newScratch(rows int) *scratch {
	return &scratch{
		x0:     make([]float32, rows*embedDim),
		x:      make([]float32, rows*modelDim),
		h:      make([]float32, rows*modelDim),
		qkv:    make([]float32, rows*3*modelDim),
		att:    make([]float32, rows*modelDim),
		ffn:    make([]float32, rows*ffnDim),
		keys:   make([]float32, maxPieces*modelDim/numHeads),
		scores: make([]float32, maxPieces*maxPieces),
	}
}

// span is one sentence's rows within a pack.
type span struct{ start, n int }

// forward runs the graph on a pack of sentences whose piece ids are
// concatenated in ids, one span per sentence, and writes each sentence's
// unit vector to outs[i]. Every matrix product runs on all the pack's
// rows at once; attention runs per sentence, so sentences never see each
// other (the graph masks padding, so packing changes no result).
func (m *Model) forward(ids []int32, spans []span, outs [][]float32, sc *scratch) {
	rows := len(ids)
	// Embedding plus timing signal. The graph adds the timing signal to the
	// gathered embeddings and then adds that sum to the embeddings again,
	// so every position holds 2·embedding + timing(position).
	for _, sp := range spans {
		for p := 0; p < sp.n; p++ {
			r := sp.start + p
			e := m.emb[int(ids[r])*embedDim : (int(ids[r])+1)*embedDim]
			t := m.posTiming[p*embedDim : (p+1)*embedDim]
			x := sc.x0[r*embedDim : (r+1)*embedDim]
			for k, v := range e {
				x[k] = v + (v + t[k])
			}
		}
	}

	in, dIn := sc.x0, embedDim
	last := &m.layers[attnLayers-1]
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
		if l != last {
			l.ffn2.apply(sc.x, sc.ffn, rows, epAdd)
		}
		in, dIn = sc.x, modelDim
	}

	// Mean over each sentence's positions (at least one divisor). The last
	// feed-forward projection is linear, so the mean of its outputs is the
	// projection of the mean activation: it runs once per sentence instead
	// of once per piece. An empty sentence pools to zero.
	sents := len(spans)
	meanX, meanH := sc.att[:sents*modelDim], sc.qkv[:sents*ffnDim]
	for s, sp := range spans {
		meanRows(meanX[s*modelDim:(s+1)*modelDim], sc.x[sp.start*modelDim:], sp.n)
		meanRows(meanH[s*ffnDim:(s+1)*ffnDim], sc.ffn[sp.start*ffnDim:], sp.n)
	}
	last.ffn2.apply(meanX, meanH, sents, epAdd)
	for s, sp := range spans {
		if sp.n == 0 {
			clear(meanX[s*modelDim : (s+1)*modelDim])
		}
	}

	// Tanh layer and L2 normalisation with the graph's epsilon.
	m.pool.apply(sc.h, meanX, sents, epStore)
	for s := range spans {
		y := sc.h[s*modelDim : (s+1)*modelDim]
		var sq float64
		for k, v := range y {
			t := float32(math.Tanh(float64(v)))
			y[k] = t
			sq += float64(t * t)
		}
		inv := float32(1 / math.Sqrt(max(sq, l2Epsilon)))
		dst := outs[s][:modelDim]
		for k, v := range y {
			dst[k] = v * inv
		}
	}
}

// meanRows writes the mean of n rows of src (len(dst) wide, consecutive)
// to dst, or zeros when n is 0.
func meanRows(dst, src []float32, n int) {
	d := len(dst)
	clear(dst)
	for r := 0; r < n; r++ {
		for k, v := range src[r*d : (r+1)*d] {
			dst[k] += v
		}
	}
	inv := 1 / float32(max(n, 1))
	for k := range dst {
		dst[k] *= inv
	}
}

// attend runs multi-head self-attention over one sentence's rows of
// sc.qkv (queries, keys, values of width l.dim each) into sc.att. Per
// head, the scores Q·Kᵀ and the weighted sum P·V both run through
// gemmTile: the keys are first packed into 16-key panels (zero past the
// last key, up to a multiple of 32), the values are read in place.
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
	ld := (n + tileCols - 1) / tileCols * tileCols // scores row stride
	scores := sc.scores[:n*ld]
	keys := sc.keys[:ld*hd]
	for h := 0; h < numHeads; h++ {
		q, k, v := qkv[h*hd:], qkv[d+h*hd:], qkv[2*d+h*hd:]
		for key := 0; key < ld; key++ {
			panel := keys[key/panelCols*hd*panelCols:]
			j := key % panelCols
			if key >= n {
				for c := 0; c < hd; c++ {
					panel[c*panelCols+j] = 0
				}
				continue
			}
			for c, kv := range k[key*stride : key*stride+hd] {
				panel[c*panelCols+j] = kv
			}
		}
		for p := 0; p < ld/panelCols; p += 2 {
			for i := 0; i < n; i += tileRows {
				gemmTile(q[i*stride:], stride, keys[p*hd*panelCols:], panelCols, hd*panelCols, scores[i*ld+p*panelCols:], ld, hd, min(tileRows, n-i), 0)
			}
		}
		for i := 0; i < n; i++ {
			softmax(scores[i*ld:(i+1)*ld], n)
		}
		for c := 0; c < hd; c += tileCols {
			for i := 0; i < n; i += tileRows {
				gemmTile(scores[i*ld:], ld, v[c:], stride, panelCols, att[i*d+h*hd+c:], d, n, min(tileRows, n-i), 0)
			}
		}
	}
}

// softmaxGo replaces row by its softmax.
func softmaxGo(row []float32) {
	maxScore := float32(math.Inf(-1))
	for _, s := range row {
		maxScore = max(maxScore, s)
	}
	var sum float32
	for j, s := range row {
		e := expNeg(s - maxScore)
		row[j] = e
		sum += e
	}
	inv := 1 / sum
	for j := range row {
		row[j] *= inv
	}
}

// Constants of expNeg: ln 2 in two parts, the polynomial's coefficients
// from the highest degree, and the lowest argument with a normal result.
const (
	expLog2e = 1.44269504088896341
	expLn2Hi = 0.693359375
	expLn2Lo = -2.12194440e-4
	expP5    = 1.9875691500e-4
	expP4    = 1.3981999507e-3
	expP3    = 8.3334519073e-3
	expP2    = 4.1665795894e-2
	expP1    = 1.6666665459e-1
	expP0    = 5.0000001201e-1
	expMin   = -87.33654
)

// expNeg returns e**x for x ≤ 0 in float32, within 2 ulp of math.Exp (0
// below expMin), the Cephes expf way: x = n·ln2 + r with |r| ≤ ln2/2, a
// degree-7 polynomial for e**r, 2**n in the exponent.
func expNeg(x float32) float32 {
	if x < expMin {
		return 0
	}
	n := int32(x*expLog2e - 0.5) // round to nearest, x ≤ 0
	fn := float32(n)
	r := x - fn*expLn2Hi - fn*expLn2Lo
	p := float32(expP5)
	p = p*r + expP4
	p = p*r + expP3
	p = p*r + expP2
	p = p*r + expP1
	p = p*r + expP0
	p = p*r*r + r + 1
	return p * math.Float32frombits(uint32(n+127)<<23)
}
