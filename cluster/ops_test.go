package cluster

import (
	"math"
	"reflect"
	"runtime"
	"slices"
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

// TestDecodeOp checks decodeOp against msgpack's own decoding of the op
// struct, which it replaces: the same ID, method and arguments byte for
// byte, keys it does not know skipped, and damaged ops refused.
func TestDecodeOp(t *testing.T) {
	items := []ragd.NewItem{{ID: "item_1", Created: 7, Content: "c", Chunks: []ragd.Chunk{{Content: "c", Tokens: 1, Vector: []float32{0.5, -1, 2}}}}}
	b, err := encodeOp("n1-1", "InsertItems", []any{"ws", "col_1", items})
	if err != nil {
		t.Fatal(err)
	}
	// An op from a newer build, with a field this one does not know.
	type newer struct {
		ID     string               `msgpack:"id"`
		Extra  map[string]any       `msgpack:"x"`
		Method string               `msgpack:"m"`
		Args   []msgpack.RawMessage `msgpack:"a"`
	}
	var plain op
	if err := msgpack.Unmarshal(b, &plain); err != nil {
		t.Fatal(err)
	}
	withExtra, err := msgpack.Marshal(newer{ID: plain.ID, Extra: map[string]any{"k": []any{1, "v"}}, Method: plain.Method, Args: plain.Args})
	if err != nil {
		t.Fatal(err)
	}
	noArgs, err := msgpack.Marshal(op{ID: "n1-2", Method: "TouchCollection"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{{"Op", b}, {"UnknownField", withExtra}, {"NoArguments", noArgs}} {
		t.Run(tc.name, func(t *testing.T) {
			var want op
			if err := msgpack.Unmarshal(tc.data, &want); err != nil {
				t.Fatal(err)
			}
			got, err := decodeOp(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("decodeOp:\n got %#v\nwant %#v", *got, want)
			}
		})
	}
	got, err := decodeOp(b)
	if err != nil {
		t.Fatal(err)
	}
	var back []ragd.NewItem
	if err := msgpack.Unmarshal(got.Args[2], &back); err != nil || !reflect.DeepEqual(back, items) {
		t.Errorf("items decoded from the op's argument: %#v, %v; want %#v", back, err, items)
	}
	for _, bad := range []struct {
		name string
		data []byte
	}{{"Truncated", b[:len(b)-3]}, {"TrailingBytes", append(slices.Clone(b), 0xc0)}, {"NotAMap", []byte{0x93, 0x01, 0x02, 0x03}}, {"Empty", nil},
		// {"a": an array of 2^32-1 arguments} in 8 bytes.
		{"HugeArgumentCount", []byte{0x81, 0xa1, 'a', 0xdd, 0xff, 0xff, 0xff, 0xff}}} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		o, err := decodeOp(bad.data)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: decodeOp = %#v, want an error", bad.name, o)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("%s: decodeOp of %d bytes allocated %d bytes", bad.name, len(bad.data), n)
		}
	}
}
