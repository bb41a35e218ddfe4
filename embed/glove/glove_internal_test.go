package glove

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ragd/ragd"
)

func TestModelFileChecksum(t *testing.T) {
	want, err := os.ReadFile("glove-100d.bin.sha256")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(modelFile)
	if got := hex.EncodeToString(sum[:]); got != strings.Fields(string(want))[0] {
		t.Fatalf("embedded glove-100d.bin has sha256 %s, glove-100d.bin.sha256 says %s; run make models", got, want)
	}
}

func TestVocabulary(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.index) != 100000 {
		t.Errorf("vocabulary has %d words, want 100000", len(m.index))
	}
	// GloVe's order is by corpus frequency: "the" first.
	for word, rank := range map[string]int32{"the": 0, ",": 1, "of": 3, "python": 18874} {
		if got, ok := m.index[word]; !ok || got != rank {
			t.Errorf("rank of %q = %d (found %v), want %d", word, got, ok, rank)
		}
	}
	// Dequantised components match glove.6B.100d's "the" vector within
	// half a quantisation step.
	scale := m.weights[0] / float32(idf(1, math.Log(gloveVocab)+0.5772156649))
	for d, want := range []float32{-0.038194, -0.24487, 0.72812, -0.39961, 0.083172} {
		if got := float32(int8(m.vecs[d])) * scale; math.Abs(float64(got-want)) > float64(scale)/2+1e-6 {
			t.Errorf("the[%d] = %v, want %v", d, got, want)
		}
	}
}

func TestIDF(t *testing.T) {
	h := math.Log(gloveVocab) + 0.5772156649
	for _, tc := range []struct {
		rank     int
		min, max float64
	}{{1, 0, 1e-6}, {100, 1.5, 2}, {100000, 8, 9}} {
		if got := idf(tc.rank, h); got < tc.min || got > tc.max {
			t.Errorf("idf(%d) = %v, want in [%v, %v]", tc.rank, got, tc.min, tc.max)
		}
	}
	if idf(500, h) >= idf(501, h) {
		t.Error("idf must grow with rank")
	}
}

func TestWords(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"Lower", "The Quick BROWN fox", "the quick brown fox"},
		{"Punctuation", "Hello, world! (really?)", "hello world really"},
		{"InnerHyphen", "a well-known -dash- end-", "a well-known dash end"},
		{"Apostrophes", "don't Python's ’tis doesn’t", "don't python's tis doesn't"},
		{"Underscore", "__init__ sys_path", "init sys path"},
		{"Digits", "python3 3.11 x86-64", "python3 3 11 x86-64"},
		{"Unicode", "Café naïve Straße", "café naïve straße"},
		{"Empty", " \t\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			words(tc.in, func(w string) { got = append(got, w) })
			if strings.Join(got, " ") != tc.want {
				t.Errorf("words(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ word, want string }{
		{"python", "python"}, {"python's", "python"}, {"doesn't", "does"}, {"well-known", "well-known"},
	} {
		id, ok := m.lookup(tc.word)
		if want, wok := m.index[tc.want]; !ok || !wok || id != want {
			t.Errorf("lookup(%q) = %d, %v; want the id of %q (%d)", tc.word, id, ok, tc.want, want)
		}
	}
	if _, ok := m.lookup("zzxqv"); ok {
		t.Error("lookup of a made-up word succeeded")
	}
}

func TestLoadCorrupt(t *testing.T) {
	dup := slices.Clone(modelFile)
	copy(dup[20:], "the\nthe") // second word "," becomes a duplicate "the"
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"Empty", nil},
		{"BadMagic", append([]byte("NOTGLOVE"), modelFile[8:]...)},
		{"Truncated", modelFile[:len(modelFile)-1]},
		{"DuplicateWord", dup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(tc.file)
			var e *ragd.Error
			if !errors.As(err, &e) || e.Kind != ragd.EINTERNAL {
				t.Fatalf("load = %v, want an EINTERNAL *ragd.Error", err)
			}
		})
	}
}

// BenchmarkLoad measures parsing the embedded file, what New costs on its
// first call, and the heap it allocates.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := load(modelFile); err != nil {
			b.Fatal(err)
		}
	}
}
