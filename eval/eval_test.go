package eval

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func loadSample(t *testing.T) []Pair {
	t.Helper()
	b, err := os.ReadFile("testdata/faq/sample.rst.txt")
	if err != nil {
		t.Fatal(err)
	}
	return ParseFAQ(string(b), "faq/sample.rst.txt")
}

func TestParseFAQ(t *testing.T) {
	pairs := loadSample(t)
	want := []struct{ q, answerStart, answerEnd string }{
		{"What is a widget?", "A widget is a small gadget", "It may contain indented text."},
		{"How do I clean a widget?", "Use a soft cloth::", "A transition above does not start a new section."},
		{"Where are widgets made?", "Mostly in small workshops", "by hand."},
		{"What is a widget?", "A widget is a small gadget", "It may contain indented text."},
		{"Why repeat a question?", "To test that", "is kept."},
		{"What is a widget?", "Asked again", "long enough to count."},
	}
	if len(pairs) != len(want) {
		for _, p := range pairs {
			t.Logf("%q", p.Question)
		}
		t.Fatalf("got %d pairs, want %d", len(pairs), len(want))
	}
	for i, w := range want {
		p := pairs[i]
		if p.Question != w.q || !strings.HasPrefix(p.Answer, w.answerStart) || !strings.HasSuffix(p.Answer, w.answerEnd) || p.Source != "faq/sample.rst.txt" {
			t.Errorf("pair %d = %q / %q, want %q / %q...%q", i, p.Question, p.Answer, w.q, w.answerStart, w.answerEnd)
		}
	}
	t.Run("Dedupe", func(t *testing.T) {
		got := Dedupe(pairs)
		if len(got) != 5 || got[3].Question != "Why repeat a question?" || !strings.HasPrefix(got[4].Answer, "Asked again") {
			t.Errorf("Dedupe kept %d pairs: %+v", len(got), got)
		}
	})
	t.Run("CRLF", func(t *testing.T) {
		b, _ := os.ReadFile("testdata/faq/sample.rst.txt")
		if got := ParseFAQ(strings.ReplaceAll(string(b), "\n", "\r\n"), "x"); len(got) != len(want) {
			t.Errorf("CRLF input: %d pairs, want %d", len(got), len(want))
		}
	})
}

func TestScore(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ranks []int
		want  Metrics
	}{
		{"Empty", nil, Metrics{}},
		{"AllFirst", []int{1, 1}, Metrics{NDCG10: 1, R1: 1, R10: 1, Questions: 2}},
		{"Mixed", []int{1, 3, 0, 11}, Metrics{NDCG10: (1 + 0.5) / 4, R1: 0.25, R10: 0.5, Questions: 4}},
		{"Tenth", []int{10}, Metrics{NDCG10: 0.289064826317888, R10: 1, Questions: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Score(tc.ranks)
			if d := got.NDCG10 - tc.want.NDCG10; d > 1e-12 || d < -1e-12 || got.R1 != tc.want.R1 || got.R10 != tc.want.R10 || got.Questions != tc.want.Questions {
				t.Errorf("Score(%v) = %+v, want %+v", tc.ranks, got, tc.want)
			}
		})
	}
}

func TestBM25(t *testing.T) {
	ix := NewBM25([]string{
		"The cat sat on the mat.",
		"Dogs and cats are pets; the cat is a pet.",
		"Stock markets fell on Tuesday.",
	})
	for _, tc := range []struct {
		name  string
		query string
		want  []int
	}{
		{"RareTermWins", "stock", []int{2}},
		{"ShortDocFirst", "cat", []int{0, 1}},
		{"CaseAndPunctuation", "MARKETS, Tuesday!", []int{2}},
		{"NoMatch", "zebra", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ix.Search(tc.query, 10); !slices.Equal(got, tc.want) {
				t.Errorf("Search(%q) = %v, want %v", tc.query, got, tc.want)
			}
		})
	}
	// "Where are widgets made?" shares no word with its answer, and
	// "widgets" ranks the other answer.
	if got := BM25Ranks(loadSample(t)[1:3]); !slices.Equal(got, []int{1, 0}) {
		t.Errorf("BM25Ranks = %v, want [1 0]", got)
	}
}

func TestParseDocBookFAQ(t *testing.T) {
	b, err := os.ReadFile("testdata/debfaq/sample.en.html")
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := ParseDocBookFAQ(string(b), "FAQ/sample.en.html")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ q, answer string }{
		{"What is a widget?", "A widget is a small gadget\nthat does one thing well.\nSee also the widget site."},
		{"How do I clean a widget?", "Use a soft cloth, and never water:\nwidget --clean --soft"},
		{"What is a widget?", "A widget is a small gadget\nthat does one thing well.\nSee also the widget site."},
		{"Why are widgets sold in 7.5. sizes?", "Because people have hands of many sizes, and widgets fit hands."},
	}
	if len(pairs) != len(want) {
		for _, p := range pairs {
			t.Logf("%q: %q", p.Question, p.Answer)
		}
		t.Fatalf("got %d pairs, want %d", len(pairs), len(want))
	}
	for i, w := range want {
		if p := pairs[i]; p.Question != w.q || p.Answer != w.answer || p.Source != "FAQ/sample.en.html" {
			t.Errorf("pair %d = %q / %q, want %q / %q", i, p.Question, p.Answer, w.q, w.answer)
		}
	}
	t.Run("Dedupe", func(t *testing.T) {
		if got := Dedupe(pairs); len(got) != 3 || got[2].Question != "Why are widgets sold in 7.5. sizes?" {
			t.Errorf("Dedupe kept %+v", got)
		}
	})
	t.Run("NoQuestions", func(t *testing.T) {
		got, err := ParseDocBookFAQ("<html><body><h1>Notes</h1><p>Nothing is asked on this page at all, only told.</p></body></html>", "x")
		if err != nil || len(got) != 0 {
			t.Errorf("got %v, %v; want no pairs", got, err)
		}
	})
}
