package eval

import (
	"slices"
	"testing"

	"github.com/ragd/ragd"
)

func TestStem(t *testing.T) {
	for _, group := range [][]string{
		{"install", "installs", "installing", "installed", "installation"},
		{"program", "programs", "programmer", "programming"},
		{"line", "lines", "liners"},
		{"distribute", "distribution", "distributions"},
		{"package", "packages", "packaged"},
		{"secure", "security"},
		{"copy", "copies", "copied"},
		{"class", "classes"},
	} {
		for _, w := range group[1:] {
			if stem(w) != stem(group[0]) {
				t.Errorf("stem(%q) = %q, stem(%q) = %q: want equal", w, stem(w), group[0], stem(group[0]))
			}
		}
	}
	for _, pair := range [][2]string{{"update", "upgrade"}, {"string", "strong"}, {"mail", "main"}} {
		if stem(pair[0]) == stem(pair[1]) {
			t.Errorf("stem(%q) = stem(%q) = %q: want different", pair[0], pair[1], stem(pair[0]))
		}
	}
}

func TestSharedContentWords(t *testing.T) {
	for _, tc := range []struct {
		name, original, paraphrase string
		want                       []string
	}{
		{"Disjoint", "How do I install a source package?", "How can I unpack the original code of a program?", nil},
		{"OnlyStopwords", "Why can't lambda expressions contain statements?", "Why can it not be so?", nil},
		{"Inflection", "How do I install Python?", "Installing the interpreter", []string{"installing (install)"}},
		{"Plural", "Why are Debian package file names so long?", "What do the parts of packages mean?", []string{"packages (package)"}},
		{"CaseAndPunctuation", "What is Python?", "PYTHON, briefly!", []string{"python (python)"}},
		{"Contraction", "Why can't I?", "It won't, will it?", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SharedContentWords(tc.original, tc.paraphrase)
			if !slices.Equal(got, tc.want) {
				t.Errorf("SharedContentWords(%q, %q) = %q, want %q", tc.original, tc.paraphrase, got, tc.want)
			}
		})
	}
}

// TestParaphraseRule checks the hand-written paraphrase set: enough
// questions of each set, each original asked once, and no paraphrase
// sharing a content word with its original.
func TestParaphraseRule(t *testing.T) {
	ps, err := Paraphrases()
	if err != nil {
		t.Fatal(err)
	}
	perSet := map[string]int{}
	seen := map[Paraphrase]bool{}
	for _, p := range ps {
		perSet[p.Set]++
		if k := (Paraphrase{Set: p.Set, Source: p.Source, Original: p.Original}); seen[k] {
			t.Errorf("%s %q is paraphrased twice", p.Set, p.Original)
		} else {
			seen[k] = true
		}
		if shared := SharedContentWords(p.Original, p.Text); len(shared) > 0 {
			t.Errorf("%q shares %q with %q", p.Text, shared, p.Original)
		}
	}
	for _, set := range []string{"pyfaq", "debfaq"} {
		if perSet[set] < 35 {
			t.Errorf("%d paraphrases of %s, want at least 35", perSet[set], set)
		}
	}
	if len(perSet) != 2 {
		t.Errorf("paraphrase sets %v, want pyfaq and debfaq", perSet)
	}
}

func TestParaphraseQueries(t *testing.T) {
	pairs := Dedupe(loadSample(t))
	ps := []Paraphrase{
		{"pyfaq", "faq/sample.rst.txt", "Where are widgets made?", "In which places do people build gadgets?"},
		{"debfaq", "faq/sample.rst.txt", "What is a widget?", "not this set"},
		{"pyfaq", "faq/sample.rst.txt", "What is a widget?", "Define a gadget."},
	}
	got, err := ParaphraseQueries("pyfaq", pairs, ps)
	if want := []Query{{"In which places do people build gadgets?", 2}, {"Define a gadget.", 0}}; err != nil || !slices.Equal(got, want) {
		t.Errorf("ParaphraseQueries = %v, %v; want %v", got, err, want)
	}
	t.Run("ErrMissingOriginal", func(t *testing.T) {
		_, err := ParaphraseQueries("pyfaq", pairs, []Paraphrase{{"pyfaq", "faq/other.rst.txt", "What is a widget?", "x"}})
		if ragd.ErrorKind(err) != ragd.ENOTFOUND {
			t.Errorf("err = %v, want ENOTFOUND", err)
		}
	})
	t.Run("ErrBadLine", func(t *testing.T) {
		if _, err := parseParaphrases("# comment\npyfaq\tfaq/a\tq?\n"); ragd.ErrorKind(err) != ragd.EINVALID {
			t.Errorf("err = %v, want EINVALID", err)
		}
	})
}
