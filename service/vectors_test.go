package service_test

import (
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
// null is no vector; anything else is an error naming the element
// (or the field, when it is not an array), and a number beyond float64's
// range reads as an infinity, for unit to refuse by its index.
func TestVectorUnmarshalJSON(t *testing.T) {
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
		{in: `[1, "2"]`, param: "vector[1]"},
		{in: `[1, true]`, param: "vector[1]"},
		{in: `[[1]]`, param: "vector[0]"},
		{in: `[1, ]`, param: "vector"},
		{in: `[1,,2]`, param: "vector[1]"},
		{in: `[+1]`, param: "vector[0]"},
		{in: `[.5]`, param: "vector[0]"},
		{in: `[1.]`, param: "vector[0]"},
		{in: `[01]`, param: "vector[0]"},
		{in: `[1e]`, param: "vector[0]"},
		{in: `[NaN]`, param: "vector[0]"},
		{in: `[Infinity]`, param: "vector[0]"},
		{in: `[0x10]`, param: "vector[0]"},
		{in: `{"a": 1}`, param: "vector"},
		{in: `"1,2"`, param: "vector"},
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
		if err != nil || !slices.Equal(got.V, tc.want) || (got.V == nil) != (tc.want == nil) {
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
// []float64 when that succeeds, and fails where encoding/json finds no
// array of numbers; the one difference allowed is a number beyond
// float64's range, which encoding/json refuses and a Vector reads as an
// infinity (for unit to refuse by its index).
func FuzzVectorUnmarshalJSON(f *testing.F) {
	for _, seed := range []string{`[0.5, -1, 2e-3]`, `null`, `[]`, ` [ 1 ,2 ] `, `[1e400]`, `[1, "2"]`, `[1,]`, `[01]`, `[-0.0e+5]`, `{"a":1}`} {
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
		case wantErr != nil && err == nil && !json.Valid([]byte(in)):
			t.Fatalf("%q is not JSON, but Vector read %v", in, got)
		}
	})
}
