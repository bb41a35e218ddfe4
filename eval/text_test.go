package eval

import (
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ragd/ragd/embed"
)

func TestSplitSentences(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"Simple", "One here. Two there! Three? Four", []string{"One here.", "Two there!", "Three?", "Four"}},
		{"WrappedLines", "A sentence wrapped\nover two lines. Next.", []string{"A sentence wrapped over two lines.", "Next."}},
		{"BlankLine", "Use a soft cloth::\n\n   widget --clean\n\nThen dry it", []string{"Use a soft cloth::", "widget --clean", "Then dry it"}},
		{"BlankLineWithSpaces", "First part\n   \nsecond part", []string{"First part", "second part"}},
		{"Abbreviations", "Use a tool, e.g. a cloth, etc. and more. Done.", []string{"Use a tool, e.g. a cloth, etc. and more.", "Done."}},
		{"SectionNumbers", "See section 7.1. for this. Then 3. Go.", []string{"See section 7.1. for this.", "Then 3. Go."}},
		{"NoSpaceAfterPeriod", "Call list.index() or os.path. Then stop.", []string{"Call list.index() or os.path.", "Then stop."}},
		{"CRLF", "One.\r\n\r\nTwo.", []string{"One.", "Two."}},
		{"Empty", " \n\n ", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SplitSentences(tc.text); !slices.Equal(got, tc.want) {
				t.Errorf("SplitSentences(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
	if got := FirstSentences("A b. C d. E f. G h.", 3); got != "A b. C d. E f." {
		t.Errorf("FirstSentences = %q", got)
	}
	if got := FirstSentences("Only one.", 3); got != "Only one." {
		t.Errorf("FirstSentences of one = %q", got)
	}
}

func TestAnswerKey(t *testing.T) {
	pairs := loadSample(t)
	for _, tc := range []struct {
		name, answer string
		want         string
	}{
		// The sample's real answers, as the parser yields them.
		{"FirstSentence", pairs[0].Answer, "a widget is a small gadget or mechanical device especially one whose name is unknown or unspecified"},
		{"ShortFirstSentenceExtended", "Yes. It is stable and old.", "yes it is stable and old"},
		{"Cut", strings.Repeat("word ", 30) + ".", strings.TrimSpace(strings.Repeat("word ", maxKeyWords))},
		{"Markup", "Use the :func:`super` function::\n\n   super().meth()", "use the func super function"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(AnswerKey(tc.answer), " "); got != tc.want {
				t.Errorf("AnswerKey(%q) = %q, want %q", tc.answer, got, tc.want)
			}
		})
	}

	// A chunk of the sample file holds a key when the key's words appear
	// in it contiguously, whatever the line breaks, indentation and markup
	// in between.
	b, err := os.ReadFile("testdata/faq/sample.rst.txt")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	chunk := doc[strings.Index(doc, "What is a widget?"):strings.Index(doc, "Is this too short?")]
	for _, tc := range []struct {
		name   string
		text   string
		key    []string
		holds  bool
		reason string
	}{
		{"WholeSentence", chunk, AnswerKey(pairs[0].Answer), true, "the sentence wraps over two lines"},
		{"OtherAnswer", chunk, AnswerKey(pairs[2].Answer), false, "another section's answer"},
		{"CutSentence", chunk[:strings.Index(chunk, "unknown")], AnswerKey(pairs[0].Answer), false, "the chunk ends inside the sentence"},
		{"WordsNotContiguous", "a widget is a very small gadget", []string{"a", "widget", "is", "a", "small"}, false, "a word in between"},
		{"EmptyKey", chunk, nil, false, "an empty key matches nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := containsWords(embed.Words(tc.text), tc.key); got != tc.holds {
				t.Errorf("containsWords = %v, want %v: %s", got, tc.holds, tc.reason)
			}
		})
	}
}

func TestWordOverlap(t *testing.T) {
	for _, tc := range []struct {
		name, answer, gold string
		recall, precision  float64
	}{
		{"Same", "The cat sat.", "the CAT sat", 1, 1},
		{"Half", "the cat", "the cat sat on mat", 2.0 / 5, 1},
		{"Padding", "the cat and a dog and a bird", "the cat", 1, 2.0 / 8},
		// A bag of words: "the" twice in the answer counts once when the
		// gold answer has it once.
		{"Multiset", "the the the cat", "the cat the dog", 3.0 / 4, 3.0 / 4},
		{"Disjoint", "dogs bark", "cats meow", 0, 0},
		{"EmptyAnswer", "", "cats meow", 0, 0},
		{"EmptyGold", "cats", "...", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, p := WordOverlap(tc.answer, tc.gold)
			if math.Abs(r-tc.recall) > 1e-12 || math.Abs(p-tc.precision) > 1e-12 {
				t.Errorf("WordOverlap(%q, %q) = %v, %v; want %v, %v", tc.answer, tc.gold, r, p, tc.recall, tc.precision)
			}
		})
	}
}

func TestCitations(t *testing.T) {
	sources := []string{
		"A widget is a small gadget.\nIt is made by hand in small workshops.",
		"Use a soft cloth::\n\n   >>> y = x\n   >>> y\n   [10]\n\nNever use water.",
		"Widgets rust quickly, e.g. in rain. Keep them dry.",
	}
	if got := StripCitations("A widget is small [1]. Keep them dry. [3] [1, 2]"); got != "A widget is small . Keep them dry." {
		t.Errorf("StripCitations = %q", got)
	}
	for _, tc := range []struct {
		name, answer string
		want         bool
	}{
		{"OneEach", "A widget is a small gadget. [1] Keep them dry. [3]", true},
		{"SeveralSentencesOneMark", "A widget is a small gadget. It is made by hand in small workshops. [1]", true},
		{"NotContiguousInSource", "A widget is a small gadget. It is made in small workshops. [1]", false},
		{"WrongSource", "A widget is a small gadget. [2] Keep them dry. [3]", false},
		{"Swapped", "A widget is a small gadget. [3] Keep them dry. [1]", false},
		{"RunOfMarks", "Keep them dry. [1][3]", true},
		{"ListMark", "Keep them dry. [1, 3]", true},
		{"CutShort", "Widgets rust quickly, e.g. in ... [3]", true},
		{"CodeAfterItsSentence", "Use a soft cloth:: [2] >>> y = x >>> y [10]", true},
		{"CodeLooksLikeMark", "Use a soft cloth:: >>> y = x >>> y [10] [2] Never use water. [2]", true},
		{"CodeMarkWrongSource", "Use a soft cloth:: >>> y = x >>> y [10] [1]", false},
		{"NoSuchSource", "Keep them dry. [4]", false},
		{"NoCitation", "A widget is a small gadget.", false},
		{"UncitedTextInvented", "A widget is a small gadget. [1] Widgets are blue.", false},
		{"Empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CitationsCorrect(tc.answer, sources); got != tc.want {
				t.Errorf("CitationsCorrect(%q) = %v, want %v", tc.answer, got, tc.want)
			}
		})
	}
}
