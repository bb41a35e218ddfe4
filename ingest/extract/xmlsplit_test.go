package extract

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// decodeXMLText decodes doc and returns its character data joined, its longest
// token, and the error that ended decoding, if not EOF.
func decodeXMLText(r io.Reader) (string, int, error) {
	dec := xml.NewDecoder(r)
	var text strings.Builder
	longest := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return text.String(), longest, nil
		}
		if err != nil {
			return text.String(), longest, err
		}
		size := 0
		switch t := tok.(type) {
		case xml.CharData:
			text.Write(t)
			size = len(t)
		case xml.Comment:
			size = len(t)
		case xml.ProcInst:
			size = len(t.Inst)
		case xml.StartElement:
			for _, a := range t.Attr {
				size += len(a.Value)
			}
		}
		longest = max(longest, size)
	}
}

// The splitter keeps every token small and the text unchanged.
func TestXMLSplitter(t *testing.T) {
	long := func(unit string) string { return strings.Repeat(unit, 3*xmlMaxRun/len(unit)+7) }
	for _, tt := range []struct {
		name, doc string
		err       bool
	}{
		{name: "LongText", doc: `<a>` + long("word ") + `</a>`},
		{name: "Entities", doc: `<a>` + long("x&amp;y&#233;&lt;") + `</a>`},
		{name: "MultiByte", doc: `<a>` + long("é中𝄞") + `</a>`},
		{name: "CDATA", doc: `<a><![CDATA[` + long("a]b]]c>") + `]]></a>`},
		{name: "CDATABrackets", doc: `<a><![CDATA[` + long("]]a]") + `]]>after</a>`},
		{name: "CDATAOnlyBrackets", doc: `<a><![CDATA[` + strings.Repeat("]", xmlMaxMarkup) + `]]></a>`, err: true},
		{name: "Markup", doc: `<?xml version="1.0"?><!-- a > comment --><a x="1>2" y='a>b'><?pi data?>` + long("t") + `<b/></a>`},
		{name: "ShortText", doc: `<a>short</a>`},
		{name: "LongTag", doc: `<a x="` + strings.Repeat("v", xmlMaxMarkup) + `">t</a>`, err: true},
		{name: "LongComment", doc: `<a><!--` + strings.Repeat("c", xmlMaxMarkup) + `--></a>`, err: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, longest, err := decodeXMLText(newXMLSplitter(strings.NewReader(tt.doc)))
			if tt.err {
				if !errors.Is(err, errXMLMarkup) {
					t.Fatalf("err = %v, want errXMLMarkup", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := decodeXMLText(strings.NewReader(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("text changed: got %d bytes, want %d", len(got), len(want))
			}
			if longest > xmlMaxRun+64 {
				t.Fatalf("a token of %d bytes passed", longest)
			}
		})
	}
}
