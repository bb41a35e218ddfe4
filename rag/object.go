package rag

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/ragd/ragd"
)

// object is a JSON object kept member by member as the raw bytes it was
// read from, in its original order, so that ragd can read or override the
// few fields it knows and pass every other one through byte for byte.
// encoding/json would re-compact and HTML-escape raw values; object does not.
type object struct {
	keys []string
	vals map[string]json.RawMessage
}

// parseObject reads one JSON object. what names it in the error.
func parseObject(data []byte, what string) (*object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	bad := func(err error) error {
		return ragd.Invalid("", "%s must be a JSON object: %v", what, err)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, bad(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, bad(fmt.Errorf("found %v", tok))
	}
	o := &object{vals: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad(err)
		}
		key := tok.(string) // inside an object the decoder only yields string keys
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, bad(err)
		}
		if _, dup := o.vals[key]; !dup {
			o.keys = append(o.keys, key)
		}
		o.vals[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad(errors.New("trailing data after the object"))
	}
	return o, nil
}

// has reports whether the member key is present.
func (o *object) has(key string) bool {
	_, ok := o.vals[key]
	return ok
}

// raw returns the member's raw JSON, nil when absent.
func (o *object) raw(key string) json.RawMessage { return o.vals[key] }

// get decodes the member key into v; an absent or null member leaves v
// unchanged. The error names the member.
func (o *object) get(key string, v any) error {
	raw, ok := o.vals[key]
	if !ok || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return ragd.Invalid(key, "%s has the wrong type: %v", key, err)
	}
	return nil
}

// str returns the member as a string, "" when absent or not a string.
func (o *object) str(key string) string {
	var s string
	_ = json.Unmarshal(o.vals[key], &s)
	return s
}

// set replaces (or appends) the member key with v encoded as JSON.
func (o *object) set(key string, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		// Only ragd's own values are set here: strings, numbers, slices of
		// raw messages, store results. They always encode.
		panic(fmt.Sprintf("rag: encoding %s: %v", key, err))
	}
	o.setRaw(key, raw)
}

// setRaw replaces (or appends) the member key with raw JSON.
func (o *object) setRaw(key string, raw json.RawMessage) {
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = raw
}

// del removes the member key.
func (o *object) del(key string) {
	if _, ok := o.vals[key]; !ok {
		return
	}
	delete(o.vals, key)
	for i, k := range o.keys {
		if k == key {
			o.keys = append(o.keys[:i:i], o.keys[i+1:]...)
			break
		}
	}
}

// clone returns a copy that can be changed without changing o. Raw values
// are shared: they are never modified in place.
func (o *object) clone() *object {
	c := &object{keys: append([]string(nil), o.keys...), vals: make(map[string]json.RawMessage, len(o.vals))}
	for k, v := range o.vals {
		c.vals[k] = v
	}
	return c
}

// MarshalJSON writes the members in order, each value exactly as read or set.
func (o *object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(k)
		b.Write(key)
		b.WriteByte(':')
		b.Write(o.vals[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
