package ragd

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ParseOpenAIFilter converts a filter in OpenAI's vector store terms, a
// comparison {"type": "eq"|"ne"|"gt"|"gte"|"lt"|"lte"|"in"|"nin", "key",
// "value"} or a compound {"type": "and"|"or", "filters": [...]}, into a
// Filter; param names the field in errors. Attributes are stored as
// metadata, so the filter applies to the metadata keys of the same names.
// The result is checked by SearchQuery.Validate like any filter.
func ParseOpenAIFilter(param string, raw json.RawMessage) (*Filter, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	return parseOpenAIFilter(param, raw, 0)
}

func parseOpenAIFilter(param string, raw json.RawMessage, depth int) (*Filter, error) {
	if depth > maxFilterDepth {
		return nil, Invalid(param, "filters nest deeper than %d levels", maxFilterDepth)
	}
	var f struct {
		Type    string            `json:"type"`
		Key     *string           `json:"key"`
		Value   any               `json:"value"`
		Filters []json.RawMessage `json:"filters"`
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		return nil, Invalid(param, `a filter is {"type", "key", "value"} or {"type": "and"|"or", "filters": [...]}: %v`, err)
	}
	switch f.Type {
	case "and", "or":
		if len(f.Filters) == 0 {
			return nil, Invalid(param+".filters", "a %q filter needs a non-empty filters list", f.Type)
		}
		list := make([]*Filter, len(f.Filters))
		for i, sub := range f.Filters {
			var err error
			if list[i], err = parseOpenAIFilter(fmt.Sprintf("%s.filters[%d]", param, i), sub, depth+1); err != nil {
				return nil, err
			}
			if list[i] == nil {
				return nil, Invalid(fmt.Sprintf("%s.filters[%d]", param, i), "a filter may not be null")
			}
		}
		if f.Type == "and" {
			return &Filter{And: list}, nil
		}
		return &Filter{Or: list}, nil
	case "eq", "ne", "gt", "gte", "lt", "lte", "in", "nin":
		if f.Key == nil || *f.Key == "" {
			return nil, Invalid(param+".key", "a comparison filter needs a key")
		}
		return &Filter{Key: *f.Key, Op: f.Type, Value: f.Value}, nil
	case "":
		return nil, Invalid(param+".type", "a filter needs a type: eq, ne, gt, gte, lt, lte, in, nin, and or or")
	}
	return nil, Invalid(param+".type", "unknown filter type %q; use eq, ne, gt, gte, lt, lte, in, nin, and or or", f.Type)
}
