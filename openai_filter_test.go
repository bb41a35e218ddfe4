package ragd

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestParseOpenAIFilter(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     *Filter
		param    string // of the error, when one is wanted
	}{
		{"Null", `null`, nil, ""},
		{"Comparison", `{"type": "eq", "key": "team", "value": "ops"}`, &Filter{Key: "team", Op: "eq", Value: "ops"}, ""},
		{"Compound", `{"type": "and", "filters": [{"type": "gte", "key": "year", "value": 2024}, {"type": "or", "filters": [{"type": "in", "key": "lang", "value": ["go", "c"]}, {"type": "eq", "key": "draft", "value": false}]}]}`,
			&Filter{And: []*Filter{{Key: "year", Op: "gte", Value: 2024.0}, {Or: []*Filter{{Key: "lang", Op: "in", Value: []any{"go", "c"}}, {Key: "draft", Op: "eq", Value: false}}}}}, ""},
		{"ErrType", `{"type": "like", "key": "a", "value": "b"}`, nil, "filters.type"},
		{"ErrNoType", `{"key": "a", "value": "b"}`, nil, "filters.type"},
		{"ErrNoKey", `{"type": "eq", "value": "b"}`, nil, "filters.key"},
		{"ErrEmptyCompound", `{"type": "or", "filters": []}`, nil, "filters.filters"},
		{"ErrNested", `{"type": "and", "filters": [{"type": "eq", "key": "a"}, {"type": "xx"}]}`, nil, "filters.filters[1].type"},
		{"ErrUnknownField", `{"type": "eq", "key": "a", "value": 1, "op": "eq"}`, nil, "filters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseOpenAIFilter("filters", json.RawMessage(c.in))
			if c.param != "" {
				if e, ok := err.(*Error); !ok || e.Kind != EINVALID || e.Param != c.param {
					t.Fatalf("error %v; want EINVALID on %s", err, c.param)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}
