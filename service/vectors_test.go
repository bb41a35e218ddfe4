package service_test

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/service"
)

// A vector reads as JSON writes numbers, whitespace anywhere JSON allows
// it (nothing laxer: strconv alone would take "+1", ".5" and "Inf");
// null is no vector; an element that is not such a number reads as NaN
// and a number beyond float64's range as an infinity, for unit to refuse
// by its full name and index; a value that is not an array is an error
// naming the field.
func TestVectorUnmarshalJSON(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		in    string
		want  service.Vector
		param string // of the error, when there is one
	}{
		{in: `[0.5, -1, 2e-3, 1E+2, 0]`, want: service.Vector{0.5, -1, 2e-3, 100, 0}},
		{in: " [ 1 ,\n2\t] ", want: service.Vector{1, 2}},
		{in: `[]`, want: service.Vector{}},
		{in: `null`, want: nil},
		{in: `[1e400, -1e400]`, want: service.Vector{math.Inf(1), math.Inf(-1)}},
		{in: `[1, "2"]`, want: service.Vector{1, nan}},
		{in: `[1, true]`, want: service.Vector{1, nan}},
		{in: `[[1]]`, want: service.Vector{nan}},
		{in: `[1,,2]`, want: service.Vector{1, nan, 2}},
		{in: `[+1]`, want: service.Vector{nan}},
		{in: `[.5]`, want: service.Vector{nan}},
		{in: `[1.]`, want: service.Vector{nan}},
		{in: `[01]`, want: service.Vector{nan}},
		{in: `[1e]`, want: service.Vector{nan}},
		{in: `[NaN]`, want: service.Vector{nan}},
		{in: `[Infinity]`, want: service.Vector{nan}},
		{in: `[0x10]`, want: service.Vector{nan}},
		{in: `[1, ]`, param: "vector"},
		{in: `{"a": 1}`, param: "vector"},
		{in: `"1,2"`, param: "vector"},
		// base64 of little-endian float32s, as /v1/embeddings writes
		// them with encoding_format "base64"; a JSON escape is read
		// as JSON reads it.
		{in: `"AACAPwAAAD8="`, want: service.Vector{1, 0.5}},
		{in: ` "AACAPwAAAD8AAABA" `, want: service.Vector{1, 0.5, 2}},
		{in: `"AACA\u0050wAAAD8="`, want: service.Vector{1, 0.5}},
		{in: `"AADAfwAAgD8="`, want: service.Vector{nan, 1}},
		{in: `""`, want: service.Vector{}},
		{in: `"AACAP!!!"`, param: "vector"},
		{in: `"AACAPwAAAA=="`, param: "vector"},
		{in: `"AACAPwAAAD8=`, param: "vector"},
	} {
		// Called directly: a JSON decoder refuses bad syntax itself.
		var got struct{ V service.Vector }
		err := got.V.UnmarshalJSON([]byte(tc.in))
		if tc.param != "" {
			var re *ragd.Error
			if !errors.As(err, &re) || re.Param != tc.param {
				t.Errorf("%s: error %v, want one naming %s", tc.in, err, tc.param)
			}
			continue
		}
		if err != nil || !sameVector(got.V, tc.want) || (got.V == nil) != (tc.want == nil) {
			t.Errorf("%s: read %v, %v; want %v", tc.in, got.V, err, tc.want)
		}
	}
	// Through a decoder, as a field.
	var in struct {
		Vector service.Vector `json:"vector"`
	}
	if err := json.Unmarshal([]byte(`{"vector": [0.25, 1]}`), &in); err != nil || !slices.Equal(in.Vector, service.Vector{0.25, 1}) {
		t.Errorf("decoded %v, %v; want [0.25 1]", in.Vector, err)
	}
}

// On any input, a Vector reads exactly what encoding/json reads into a
// []float64 when that succeeds, and where the input is not JSON it fails
// or holds a NaN (an element that is not a number, refused by unit). A
// number beyond float64's range, which encoding/json refuses and a Vector
// reads as an infinity (for unit to refuse by its index), is valid JSON
// and so not compared.
func FuzzVectorUnmarshalJSON(f *testing.F) {
	for _, seed := range []string{`[0.5, -1, 2e-3]`, `null`, `[]`, ` [ 1 ,2 ] `, `[1e400]`, `[1, "2"]`, `[1,]`, `[01]`, `[-0.0e+5]`, `{"a":1}`,
		`[1.2345678e-07, -0.000123, 123456789012345678901, 1e22, 1e23, 4.9e-324, 9007199254740993, 0.1e-22, 12345678901234567e-30]`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var want []float64
		wantErr := json.Unmarshal([]byte(in), &want)
		if wantErr != nil && json.Valid([]byte(in)) {
			return // valid JSON but not an array of float64: out of range, or another type; checked below
		}
		var got service.Vector
		err := got.UnmarshalJSON([]byte(in))
		switch {
		case wantErr == nil && err != nil:
			t.Fatalf("%q: encoding/json read %v, Vector failed: %v", in, want, err)
		case wantErr == nil && !slices.Equal([]float64(got), want):
			t.Fatalf("%q: encoding/json read %v, Vector %v", in, want, got)
		case wantErr != nil && err == nil && !json.Valid([]byte(in)) && !slices.ContainsFunc(got, math.IsNaN):
			t.Fatalf("%q is not JSON, but Vector read %v, all numbers", in, got)
		}
	})
}

// sameVector is slices.Equal with NaN equal to NaN.
func sameVector(a, b service.Vector) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) })
}

// BenchmarkVectorUnmarshalJSON reads a 384-dimension vector as a client
// writes one (encoding/json's shortest float32 digits), the bulk of a
// batch insert's request body.
// A vector sent as base64 (little-endian float32s) is the peer.
func BenchmarkVectorUnmarshalJSON(b *testing.B) {
	v := make([]float32, 384)
	raw := make([]byte, 4*len(v))
	for i := range v {
		v[i] = float32(math.Sin(float64(i))) / 20
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v[i]))
	}
	decimal, _ := json.Marshal(v)
	b64, _ := json.Marshal(base64.StdEncoding.EncodeToString(raw))
	for _, in := range []struct {
		name string
		json []byte
	}{{"decimal", decimal}, {"base64", b64}} {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.json)))
			for b.Loop() {
				var got service.Vector
				if err := got.UnmarshalJSON(in.json); err != nil || len(got) != len(v) || float32(got[1]) != v[1] {
					b.Fatal(err, len(got))
				}
			}
		})
	}
}
