package extract

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

// encode returns s in enc, failing the test if it cannot be.
func encode(t *testing.T, enc encoding.Encoding, s string) []byte {
	t.Helper()
	b, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Legacy charsets are decoded, whether declared (Content-Type, HTML meta)
// or detected (not UTF-8, so Windows-1252), and UTF-8 stays UTF-8.
func TestCharsets(t *testing.T) {
	french := strings.Repeat("Café crème brûlée, naïve façade — « déjà vu » à l’hôtel. ", 20)
	polish := "Zażółć gęślą jaźń, pchnąć w tę łódź jeża."
	for _, tt := range []struct {
		name, filename, contentType string
		data                        []byte
		want                        string // a part of the text
	}{
		{name: "Latin1Text", filename: "notes.txt", data: encode(t, charmap.ISO8859_1, "Café crème brûlée, naïve façade. "+strings.Repeat("Où est l'hôtel? ", 50)),
			want: "Café crème brûlée, naïve façade."},
		{name: "Windows1252Text", filename: "notes.txt", data: encode(t, charmap.Windows1252, french), want: "« déjà vu » à l’hôtel"},
		{name: "HTMLMetaCharset", filename: "page.html",
			data: append([]byte(`<html><head><meta charset="iso-8859-1"><title>T</title></head><body><p>`), append(encode(t, charmap.ISO8859_1, "Café crème, s'il vous plaît."), "</p></body></html>"...)...),
			want: "Café crème, s'il vous plaît."},
		{name: "HTMLHTTPEquiv", filename: "page.html",
			data: append([]byte(`<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252"></head><body><p>`), append(encode(t, charmap.Windows1252, french), "</p></body></html>"...)...),
			want: "« déjà vu » à l’hôtel"},
		{name: "HTMLUndeclaredLatin1", filename: "page.html",
			data: append([]byte(`<html><body><p>`), append(encode(t, charmap.ISO8859_1, "Ça coûte très cher."), "</p></body></html>"...)...),
			want: "Ça coûte très cher."},
		{name: "ContentTypeCharset", filename: "pl.txt", contentType: "text/plain; charset=iso-8859-2",
			data: encode(t, charmap.ISO8859_2, polish), want: polish},
		{name: "MetaISO88592", filename: "pl.html",
			data: append([]byte(`<html><head><meta charset="iso-8859-2"></head><body><p>`), append(encode(t, charmap.ISO8859_2, polish), "</p></body></html>"...)...),
			want: polish},
		{name: "UTF8StaysUTF8", filename: "utf8.txt", data: []byte(french), want: "« déjà vu » à l’hôtel"},
		{name: "UTF8WithAStrayByte", filename: "utf8.txt", data: append([]byte(french), 0xE9, '\n'), want: "« déjà vu » à l’hôtel"},
		{name: "Latin1CSV", filename: "cities.csv", data: encode(t, charmap.ISO8859_1, "city,text\nMünchen,Grüße aus München\nZürich,Schöne Grüße\n"),
			want: "Grüße aus München"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.filename)
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			var c Collector
			if _, err := Extract(context.Background(), Source{Path: path, Filename: tt.filename, ContentType: tt.contentType}, Options{}, &c); err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			for _, s := range c.Segments {
				text.WriteString(s.Text + "\n")
			}
			for _, r := range c.Records {
				text.WriteString(r.Text + "\n")
			}
			if !strings.Contains(text.String(), tt.want) || strings.ContainsRune(text.String(), '\uFFFD') != (tt.name == "UTF8WithAStrayByte") {
				t.Fatalf("text %q, want it to hold %q", text.String(), tt.want)
			}
		})
	}
}
