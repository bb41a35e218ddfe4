package cluster

import (
	"math"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/ragd/ragd"
)

// TestOpArgumentsRoundTrip checks that what a node logs decodes to what
// it wrote, field by field, including the fields the API's JSON hides, nil
// beside empty (an update's nil metadata means unchanged, an empty one
// clears it), pointers to empty strings, and vectors bit for bit.
func TestOpArgumentsRoundTrip(t *testing.T) {
	empty := ""
	for _, tc := range []struct {
		name string
		in   any
	}{
		{"NewItems", []ragd.NewItem{{ID: "item_1", Created: 7, Content: "c", Metadata: map[string]any{"n": 1.5, "s": "x", "l": []any{"a", true}, "z": nil},
			Chunks: []ragd.Chunk{{Content: "c", Tokens: 1, Vector: []float32{0.1, -2, float32(math.Inf(1)), math.SmallestNonzeroFloat32}}, {Content: "no vector"}}}}},
		{"ItemUpdateClears", ragd.ItemUpdate{Description: &empty, Metadata: map[string]any{}, At: 9}},
		{"ItemUpdateKeeps", ragd.ItemUpdate{At: 9}},
		{"Collection", &ragd.Collection{ID: "col_1", Workspace: "acme", Name: "docs", Dimensions: 3, ExpiresAfterDays: 2, LastActive: 5}},
		{"File", &ragd.File{ID: "file_1", CollectionID: "col_1", Chunking: ragd.Chunking{MaxTokens: 100, OverlapTokens: 10}, Source: "src", Batch: "b"}},
		{"EmptyVector", []float32{}},
		{"NilVector", []float32(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := msgpack.Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			out := reflect.New(reflect.TypeOf(tc.in))
			if err := msgpack.Unmarshal(b, out.Interface()); err != nil {
				t.Fatal(err)
			}
			if got := out.Elem().Interface(); !reflect.DeepEqual(got, tc.in) {
				t.Errorf("round trip:\n got %#v\nwant %#v", got, tc.in)
			}
		})
	}
}
