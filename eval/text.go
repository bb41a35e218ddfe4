package eval

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/ragd/ragd/embed"
)

// The text rules of the answer and document tasks. Every comparison of
// texts works on words: lower-cased runs of letters and digits
// (embed.Words, the tokens of the BM25 baseline). That folds whitespace,
// line wrapping, punctuation and markup characters (reStructuredText's
// ``code`` and *emphasis*, the <tags> of HTML) on both sides alike; role
// names like :func: stay words on both sides.

// abbreviations end with a period that does not end a sentence.
var abbreviations = map[string]bool{"e.g.": true, "i.e.": true, "etc.": true, "vs.": true, "cf.": true, "mr.": true, "dr.": true, "no.": true}

// SplitSentences splits text into sentences: one ends at ".", "!" or "?"
// followed by white space or the end of the text, unless the word ending
// there is an abbreviation (e.g., i.e., etc.) or a number like "3." or
// "7.1."; a blank line ends one too, so a paragraph or code block never
// runs into the next. Each sentence has its white space collapsed to
// single spaces.
func SplitSentences(text string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if s := strings.Join(strings.Fields(b.String()), " "); s != "" {
			out = append(out, s)
		}
		b.Reset()
	}
	runes := []rune(strings.ReplaceAll(text, "\r\n", "\n"))
	for i, r := range runes {
		if r == '\n' {
			j := i + 1
			for j < len(runes) && (runes[j] == ' ' || runes[j] == '\t') {
				j++
			}
			if j < len(runes) && runes[j] == '\n' {
				flush()
				continue
			}
		}
		b.WriteRune(r)
		if (r == '.' || r == '!' || r == '?') && (i+1 == len(runes) || unicode.IsSpace(runes[i+1])) && !(r == '.' && keepsPeriod(b.String())) {
			flush()
		}
	}
	flush()
	return out
}

// keepsPeriod reports whether the last word of s, which ends with a period,
// is an abbreviation or a number rather than the end of a sentence.
func keepsPeriod(s string) bool {
	words := strings.Fields(s)
	last := strings.ToLower(words[len(words)-1])
	return abbreviations[last] || strings.Trim(last, "0123456789.") == ""
}

// FirstSentences returns the first n sentences of text joined by spaces.
func FirstSentences(text string, n int) string {
	s := SplitSentences(text)
	return strings.Join(s[:min(n, len(s))], " ")
}

// containsWords reports whether want appears in words as a contiguous run.
// An empty want is never contained: it would match anything.
func containsWords(words, want []string) bool {
	if len(want) == 0 {
		return false
	}
outer:
	for i := 0; i+len(want) <= len(words); i++ {
		for j, w := range want {
			if words[i+j] != w {
				continue outer
			}
		}
		return true
	}
	return false
}

// Shortest and longest first-sentence keys, in words (see AnswerKey).
const (
	minKeyWords = 5
	maxKeyWords = 24
)

// AnswerKey is what the document task looks for in a retrieved chunk: the
// words of the answer's first sentence. A first sentence under 5 words
// ("Yes.", "Very stable.") would match chunks all over a document, so the
// next sentences are added until the key has 5 words. The key is cut at
// 24 words: a longer sentence can start near a chunk's end, and ragd's
// chunks overlap by 64 tokens by default, so a key that fits in the
// overlap is whole in one of the two chunks.
func AnswerKey(answer string) []string {
	var key []string
	for _, s := range SplitSentences(answer) {
		key = append(key, embed.Words(s)...)
		if len(key) >= minKeyWords {
			break
		}
	}
	return key[:min(len(key), maxKeyWords)]
}

// WordOverlap scores an answer against the gold answer as bags of words
// (multisets of embed.Words): the words they share, each counted as often
// as it occurs in both (the smaller count), over the gold answer's words
// (recall) and over the answer's words (precision). An empty side scores 0.
func WordOverlap(answer, gold string) (recall, precision float64) {
	count := map[string]int{}
	g := embed.Words(gold)
	for _, w := range g {
		count[w]++
	}
	a := embed.Words(answer)
	shared := 0
	for _, w := range a {
		if count[w] > 0 {
			count[w]--
			shared++
		}
	}
	if len(g) > 0 {
		recall = float64(shared) / float64(len(g))
	}
	if len(a) > 0 {
		precision = float64(shared) / float64(len(a))
	}
	return recall, precision
}

// citation is a run of citation marks: [1], [1, 2] or [1] [3].
var citation = regexp.MustCompile(`\[\s*\d+(?:\s*,\s*\d+)*\s*\](?:\s*\[\s*\d+(?:\s*,\s*\d+)*\s*\])*`)

// StripCitations removes the citation marks from an answer. Quoted code
// that looks like a mark ("y [10]") loses that number too; a word or two
// of a few answers, which the recall and precision means do not feel.
func StripCitations(answer string) string {
	return strings.Join(strings.Fields(citation.ReplaceAllString(answer, "")), " ")
}

// CitationsCorrect reports whether every citation of an answer points at
// a source that holds what it quotes. A run of marks cites the sources it
// names (numbered from 1); the text before it, back to the previous
// citation, is split into sentences, and each sentence's words must
// appear contiguously in one of those sources. Text after the last
// citation belongs to it (a code block after the sentence that introduced
// it). Quoted code can look like a mark ("y [10]", "a[0]"), so a mark may
// also be read as text: the answer is correctly cited when some reading
// of its marks as citations or text passes, with at least one citation.
// A mark naming no source can only be text. A sentence cut short with
// "..." is checked up to the cut, since "..." has no words.
func CitationsCorrect(answer string, sources []string) bool {
	words := make([][]string, len(sources))
	for i, s := range sources {
		words[i] = embed.Words(s)
	}
	// quoted reports whether every sentence of text is in one of cited.
	quoted := func(text string, cited []int) bool {
		for _, s := range SplitSentences(text) {
			want := embed.Words(s)
			found := len(want) == 0
			for _, i := range cited {
				found = found || containsWords(words[i], want)
			}
			if !found {
				return false
			}
		}
		return true
	}
	marks := citation.FindAllStringIndex(answer, -1)
	cited := make([][]int, len(marks))
	for k, m := range marks {
		for _, n := range embed.Words(answer[m[0]:m[1]]) {
			if i, err := strconv.Atoi(n); err == nil && i >= 1 && i <= len(sources) {
				cited[k] = append(cited[k], i-1)
			}
		}
	}
	// ends[k]: the answer up to the end of mark k reads correctly with
	// mark k as a citation.
	ends := make([]bool, len(marks))
	for k, m := range marks {
		if len(cited[k]) == 0 {
			continue
		}
		ends[k] = quoted(answer[:m[0]], cited[k])
		for j := 0; j < k && !ends[k]; j++ {
			ends[k] = ends[j] && quoted(answer[marks[j][1]:m[0]], cited[k])
		}
		if ends[k] && quoted(answer[m[1]:], cited[k]) {
			return true
		}
	}
	return false
}
