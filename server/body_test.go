package server_test

import (
	"strings"
	"testing"

	"github.com/ragd/ragd/server"
)

// TestRequestBodyErrors sends malformed JSON bodies to a strict route
// (batch insert) and checks that each gets a 400 or 413 whose message
// says what is wrong and, for a field, names it.
func TestRequestBodyErrors(t *testing.T) {
	ts := newTestServerWith(t, server.Config{MaxBodyBytes: 4096})
	col := ts.collection(t, ts.admin, "body")
	path := "/v1/vector_store/" + col + "/items/batch"
	for _, tc := range []struct {
		name, body string
		status     int
		param      string
		message    string
	}{
		{"Empty", ``, 400, "", "the request body is empty"},
		{"Spaces", "  \n ", 400, "", "the request body is empty"},
		{"Truncated", `{"items": [{"content": "a"}`, 400, "", "truncated JSON"},
		{"Syntax", `{"items": [{"content": "a",}]}`, 400, "", "not valid JSON (at byte"},
		{"Trailing", `{"items": [{"content": "a"}]} {"items": []}`, 400, "", "a single JSON object"},
		{"TrailingGarbage", `{"items": [{"content": "a"}]} x`, 400, "", "a single JSON object"},
		{"NotObject", `[1, 2]`, 400, "", "must be a JSON object, not array"},
		{"UnknownTop", `{"itemz": []}`, 400, "itemz", `unknown field "itemz"`},
		{"UnknownItemField", `{"items": [{"content": "a", "colour": "red"}]}`, 400, "colour", `unknown field "colour"`},
		{"WrongType", `{"items": [{"content": 5}]}`, 400, "items[0].content", `must be a string, not number`},
		{"WrongTypeArray", `{"items": {"content": "a"}}`, 400, "items", `must be an array, not object`},
		{"VectorNotNumbers", `{"items": [{"content": "a", "vector": {"x": 1}}]}`, 400, "vector", "vector must be an array of numbers"},
		{"TooLarge", `{"items": [{"content": "` + strings.Repeat("a", 5000) + `"}]}`, 413, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(t, "POST", path, ts.admin, tc.body)
			e := obj(r.body["error"])
			if r.status != tc.status || !strings.Contains(str(e["message"]), tc.message) {
				t.Fatalf("status %d, error %v; want %d with %q", r.status, e, tc.status, tc.message)
			}
			if tc.param != "" && e["param"] != tc.param {
				t.Errorf("param %v, want %q", e["param"], tc.param)
			}
		})
	}
	// Nothing of the refused bodies was stored.
	if r := ts.do(t, "GET", "/v1/vector_store/"+col+"/items", ts.admin, nil); r.status != 200 || len(list(r.body["data"])) != 0 {
		t.Fatalf("items after refused bodies: %d %s", r.status, r.raw)
	}
}
