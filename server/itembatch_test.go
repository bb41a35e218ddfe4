package server

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ragd/ragd/service"
)

// readItemBatch takes the bodies a client writes plainly and reads each
// as the general decoder (decodeBody) does; every other body it leaves to
// decodeBody, so that the client gets the error it would have got.
func TestReadItemBatch(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		taken      bool // by the one-pass reader
	}{
		{"Plain", `{"items":[{"content":"a","metadata":{"k":"v","n":2},"vector":[0.5,-1e-3]}]}`, true},
		{"Spaces", " {\n \"items\" : [ { \"content\" : \"a\" , \"vector\" : [ 1 , 2 ] } ,\t{ \"description\" : \"d\" } ] } \r\n", true},
		{"Nulls", `{"items":[{"content":null,"description":null,"metadata":null,"vector":null}]}`, true},
		{"EmptyItem", `{"items":[{}]}`, true},
		{"Escapes", `{"items":[{"content":"line\none \"q\" \u00e9 \ud83d\ude00 \/","description":"tab\t"}]}`, true},
		{"Unicode", `{"items":[{"content":"d\u00e9j\u00e0 vu, 日本語"}]}`, true},
		{"Base64", `{"items":[{"content":"a","vector":"AACAPwAAAD8="}]}`, true},
		{"MetadataNested", `{"items":[{"metadata":{"a":{"b":[1,"}]",{"c":null}]},"s":"{\"x\""}}]}`, true},
		{"EmptyVector", `{"items":[{"content":"a","vector":[]}]}`, true},
		{"BigNumbers", `{"items":[{"vector":[1e400, 123456789012345678901, -0.0, 4.9e-324]}]}`, true},
		// Left to decodeBody.
		{"Empty", ``, false},
		{"NoItems", `{}`, false},
		{"EmptyItems", `{"items":[]}`, false},
		{"ItemsNull", `{"items":null}`, false},
		{"OtherTopField", `{"items":[{"content":"a"}],"x":1}`, false},
		{"KeyCase", `{"items":[{"Content":"a"}]}`, false},
		{"KeyEscaped", `{"items":[{"cont\u0065nt":"a"}]}`, false},
		{"UnknownField", `{"items":[{"content":"a","colour":"red"}]}`, false},
		{"DuplicateField", `{"items":[{"content":"a","content":"b"}]}`, false},
		{"ItemNull", `{"items":[null]}`, false},
		{"ContentNumber", `{"items":[{"content":5}]}`, false},
		{"InvalidUTF8", "{\"items\":[{\"content\":\"a\xffb\"}]}", false},
		{"ControlByte", "{\"items\":[{\"content\":\"a\x01b\"}]}", false},
		{"VectorString", `{"items":[{"vector":[1,"2"]}]}`, false},
		{"VectorObject", `{"items":[{"vector":{"x":1}}]}`, false},
		{"VectorBadBase64", `{"items":[{"vector":"AACAP!!!"}]}`, false},
		{"MetadataArray", `{"items":[{"metadata":[1]}]}`, false},
		{"MetadataBroken", `{"items":[{"metadata":{"a":}}]}`, false},
		{"Truncated", `{"items":[{"content":"a"}`, false},
		{"TrailingComma", `{"items":[{"content":"a"},]}`, false},
		{"Trailing", `{"items":[{"content":"a"}]} x`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := readItemBatch([]byte(tc.body))
			if ok != tc.taken {
				t.Fatalf("taken %v, want %v", ok, tc.taken)
			}
			if ok {
				sameAsDecodeBody(t, tc.body, got)
			}
		})
	}
}

// FuzzReadItemBatch checks on any body that what readItemBatch takes,
// decodeBody reads without error and into the same items.
func FuzzReadItemBatch(f *testing.F) {
	for _, seed := range []string{
		`{"items":[{"content":"a","metadata":{"k":"v"},"vector":[0.5,-1e-3]}]}`,
		`{"items":[{"content":"a\n\u00e9","description":null,"vector":"AACAPwAAAD8="},{}]}`,
		`{"items":[{"metadata":{"a":{"b":[1,"}]"]}},"vector":[1e400]}]}`,
		`{"items":[{"Content":"a","content":"b"}]}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if got, ok := readItemBatch([]byte(body)); ok {
			sameAsDecodeBody(t, body, got)
		}
	})
}

// Every field of an item is one readItemBatch reads: a field added to
// service.ItemInput and not to the reader would send every body that
// uses it through the slow decoder.
func TestReadItemBatchKnowsEveryField(t *testing.T) {
	values := map[string]string{"content": `"a"`, "description": `"d"`, "metadata": `{"k":1}`, "vector": `[1]`}
	typ := reflect.TypeFor[service.ItemInput]()
	var fields []string
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		v, ok := values[name]
		if !ok {
			t.Fatalf("field %s of service.ItemInput has no value in this test; teach readItemBatch to read it", name)
		}
		fields = append(fields, `"`+name+`":`+v)
	}
	body := `{"items":[{` + strings.Join(fields, ",") + `}]}`
	got, ok := readItemBatch([]byte(body))
	if !ok {
		t.Fatalf("readItemBatch left %s to the slow decoder", body)
	}
	sameAsDecodeBody(t, body, got)
}

// sameAsDecodeBody fails t unless decodeBody reads body without error
// into items equal to got (a NaN, which a base64 vector may hold, equal
// to a NaN).
func sameAsDecodeBody(t *testing.T, body string, got []service.ItemInput) {
	t.Helper()
	var want itemBatchRequest
	if err := decodeBody([]byte(body), true, &want); err != nil {
		t.Fatalf("readItemBatch took %q, which decodeBody refuses: %v", body, err)
	}
	sameNaN := func(a, b float64) bool {
		return a == b && math.Signbit(a) == math.Signbit(b) || math.IsNaN(a) && math.IsNaN(b)
	}
	if len(got) != len(want.Items) {
		t.Fatalf("%q: %d items, decodeBody read %d", body, len(got), len(want.Items))
	}
	for i, g := range got {
		w := want.Items[i]
		if !reflect.DeepEqual(g.Content, w.Content) || !reflect.DeepEqual(g.Description, w.Description) ||
			!reflect.DeepEqual(g.Metadata, w.Metadata) || (g.Vector == nil) != (w.Vector == nil) || !slices.EqualFunc(g.Vector, w.Vector, sameNaN) {
			t.Fatalf("%q: item %d read as %+v, decodeBody read %+v", body, i, g, w)
		}
	}
}
