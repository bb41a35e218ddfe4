package ragd_test

import (
	"strings"
	"testing"

	"github.com/ragd/ragd"
)

func TestValidateCollectionName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"docs", true}, {"Notes d'été (v2)", true}, {"a.b-c_d", true}, {"...", true}, {"collection", true},
		{strings.Repeat("é", 128), true},
		{"", false}, {"a/b", false}, {".", false}, {"..", false}, {"col_", false}, {"col_7bxb92dmn7b8f61vnvvf", false},
		{"tab\tname", false}, {"nul\x00", false}, {"del\x7f", false}, {"c1\u0085", false}, {"bad\xffutf8", false},
		{strings.Repeat("n", ragd.MaxNameBytes+1), false},
	} {
		err := ragd.ValidateCollectionName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateCollectionName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && ragd.ErrorKind(err) != ragd.EINVALID {
			t.Errorf("ValidateCollectionName(%q): kind %s", tt.name, ragd.ErrorKind(err))
		}
	}
}

func TestValidateText(t *testing.T) {
	for _, tt := range []struct {
		text      string
		multiline bool
		ok        bool
	}{
		{"plain", false, true}, {"line\nline\r\n\tindented", true, true}, {"line\nline", false, false},
		{"nul\x00", true, false}, {"esc\x1b[2J", true, false}, {"bad\xff", true, false},
	} {
		if err := ragd.ValidateText("description", tt.text, tt.multiline); (err == nil) != tt.ok {
			t.Errorf("ValidateText(%q, %v) = %v, want ok %v", tt.text, tt.multiline, err, tt.ok)
		}
	}
}
