package ragd_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/ragd/ragd"
)

func TestValidateMetadata(t *testing.T) {
	// list nests n arrays inside the metadata object: depth n+1.
	list := func(n int) map[string]any {
		var v any = 1
		for range n {
			v = []any{v}
		}
		return map[string]any{"a": v}
	}
	nestedKeys := map[string]any{}
	for i := range ragd.MaxMetadataKeys / 2 {
		nestedKeys[strconv.Itoa(i)] = map[string]any{"x": i}
	}
	tests := []struct {
		name string
		meta map[string]any
		want string // a part of the message; "" means valid
	}{
		{"Nil", nil, ""},
		{"Plain", map[string]any{"source": "wiki", "n": 3.5, "tags": []any{"a", "b"}, "ok": true, "none": nil}, ""},
		{"ArraysAtDepth", list(ragd.MaxMetadataDepth - 1), ""},
		{"ErrArraysTooDeep", list(ragd.MaxMetadataDepth), "deeper than 32"},
		{"NestedKeysAtLimit", nestedKeys, ""},
		{"ErrNestedKeysCount", map[string]any{"extra": 1, "n": nestedKeys}, "more than 1024 keys"},
		{"ErrKeyInArray", map[string]any{"a": []any{map[string]any{strings.Repeat("k", 257): 1}}}, "key of 257 bytes"},
		{"ErrTooLarge", map[string]any{"a": []any{strings.Repeat("x", 40<<10), strings.Repeat("y", 40<<10)}}, "limit is 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ragd.ValidateMetadata("items[2].metadata", tt.meta)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var e *ragd.Error
			if !errors.As(err, &e) || e.Kind != ragd.EINVALID || e.Code != "invalid_metadata" || e.Param != "items[2].metadata" ||
				!strings.Contains(e.Message, tt.want) || !strings.HasPrefix(e.Message, "items[2].metadata ") {
				t.Fatalf("error %#v, want invalid_metadata of items[2].metadata saying %q", err, tt.want)
			}
		})
	}
}
