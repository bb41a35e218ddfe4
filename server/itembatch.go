package server

import (
	"bytes"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"

	"github.com/ragd/ragd/service"
)

// readItemBatch reads the body of a batch insert, {"items": [...]}, in one
// pass, each vector's numbers parsed where they lie. A bulk load sends
// thousands of such bodies, each a thousand vectors of 4-8 KB of
// decimals; the general decoder found every vector's end before handing
// it to service.Vector's UnmarshalJSON, a second read of most of the
// body, and decoding took a third of the server's side of a load.
//
// It takes only bodies a client writes plainly: the four fields of
// service.ItemInput spelled exactly, each at most once, strings without
// invalid UTF-8, vectors of numbers or base64. ok is false on anything
// else, and decodeBody then reads the body, with the error a client
// should see if it is wrong: this reader never makes an error of its own,
// so both read every body the same way.
func readItemBatch(body []byte) (items []service.ItemInput, ok bool) {
	r := batchReader{b: body}
	if !r.next('{') || string(r.key()) != "items" || !r.next('[') {
		return nil, false
	}
	for {
		it, ok := r.item()
		if !ok {
			return nil, false
		}
		items = append(items, it)
		if r.next(',') {
			continue
		}
		if !r.next(']') || !r.next('}') || r.space() != len(r.b) {
			return nil, false
		}
		return items, true
	}
}

// batchReader reads a JSON body from b[at:].
type batchReader struct {
	b  []byte
	at int
}

// space skips JSON's whitespace and returns where the next value starts.
func (r *batchReader) space() int {
	for r.at < len(r.b) && (r.b[r.at] == ' ' || r.b[r.at] == '\t' || r.b[r.at] == '\n' || r.b[r.at] == '\r') {
		r.at++
	}
	return r.at
}

// next reads the byte c, after whitespace, if it comes next.
func (r *batchReader) next(c byte) bool {
	if i := r.space(); i < len(r.b) && r.b[i] == c {
		r.at++
		return true
	}
	return false
}

// key reads an object's key and its colon; nil when what follows is not
// a key without escapes. The key is b's bytes: compared as a string where
// it is converted, it is not copied.
func (r *batchReader) key() []byte {
	i := r.space()
	end, escaped, ok := stringEnd(r.b, i)
	if !ok || escaped {
		return nil
	}
	r.at = end
	if !r.next(':') {
		return nil
	}
	return r.b[i+1 : end-1]
}

// item reads one item's object.
func (r *batchReader) item() (it service.ItemInput, ok bool) {
	if !r.next('{') {
		return it, false
	}
	if r.next('}') {
		return it, true
	}
	var seen [4]bool
	for {
		var field int
		switch string(r.key()) {
		case "content":
			field = 0
			it.Content, ok = r.text()
		case "description":
			field = 1
			it.Description, ok = r.text()
		case "metadata":
			field = 2
			ok = r.metadata(&it.Metadata)
		case "vector":
			field = 3
			ok = r.vector(&it.Vector)
		default:
			return it, false
		}
		if !ok || seen[field] {
			return it, false
		}
		seen[field] = true
		if r.next(',') {
			continue
		}
		return it, r.next('}')
	}
}

// null reads the literal null if it comes next.
func (r *batchReader) null() bool {
	i := r.space()
	if bytes.HasPrefix(r.b[i:], []byte("null")) {
		r.at += 4
		return true
	}
	return false
}

// text reads a string or null (nil).
func (r *batchReader) text() (*string, bool) {
	if r.null() {
		return nil, true
	}
	i := r.space()
	end, escaped, ok := stringEnd(r.b, i)
	if !ok {
		return nil, false
	}
	r.at = end
	var s string
	if escaped {
		if gojson.Unmarshal(r.b[i:end], &s) != nil {
			return nil, false
		}
	} else if s = string(r.b[i+1 : end-1]); !utf8.ValidString(s) {
		return nil, false
	}
	return &s, true
}

// metadata reads an object, as the general decoder reads it, or null.
func (r *batchReader) metadata(m *map[string]any) bool {
	if r.null() {
		return true
	}
	i := r.space()
	end, ok := objectEnd(r.b, i)
	if !ok || gojson.Unmarshal(r.b[i:end], m) != nil {
		return false
	}
	r.at = end
	return true
}

// vector reads an array of numbers in place, a base64 string, or null.
func (r *batchReader) vector(v *service.Vector) bool {
	if r.null() {
		return true
	}
	i := r.space()
	if i < len(r.b) && r.b[i] == '"' {
		end, _, ok := stringEnd(r.b, i)
		if !ok || v.UnmarshalJSON(r.b[i:end]) != nil {
			return false
		}
		r.at = end
		return true
	}
	got, n, ok := service.ParseVector(r.b[i:])
	if !ok {
		return false
	}
	*v, r.at = got, i+n
	return true
}

// stringEnd returns the end of the JSON string starting at b[i] (past its
// closing quote) and whether it holds an escape; ok is false if b[i] does
// not start one, or it holds a control byte or does not end.
func stringEnd(b []byte, i int) (end int, escaped, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, escaped, true
		case c == '\\':
			escaped = true
			j++
		case c < 0x20:
			return 0, false, false
		}
	}
	return 0, false, false
}

// objectEnd returns the end of the JSON object starting at b[i], found by
// its brackets (strings skipped); the decoder that reads it checks the
// rest.
func objectEnd(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '{' {
		return 0, false
	}
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			end, _, ok := stringEnd(b, j)
			if !ok {
				return 0, false
			}
			j = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return j + 1, true
			}
		}
	}
	return 0, false
}
