package eval

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
)

// paraphraseTSV is the hand-written paraphrase set: lines of set, source
// file, original question (exactly as the loader yields it) and
// paraphrase, separated by tabs; lines starting with "#" are comments.
//
//go:embed testdata/paraphrases.tsv
var paraphraseTSV string

// Paraphrase is a question of a set rewritten by hand so that it shares no
// content word with the original (see SharedContentWords) but asks the
// same thing, as a user who does not know the document's words would.
type Paraphrase struct {
	Set, Source, Original, Text string
}

// Paraphrases returns the paraphrase set of eval/testdata/paraphrases.tsv.
func Paraphrases() ([]Paraphrase, error) {
	return parseParaphrases(paraphraseTSV)
}

// parseParaphrases reads the paraphrase TSV.
func parseParaphrases(tsv string) ([]Paraphrase, error) {
	var out []Paraphrase
	for n, line := range strings.Split(strings.TrimRight(tsv, "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 || f[0] == "" || f[1] == "" || f[2] == "" || f[3] == "" {
			return nil, ragd.Invalid("paraphrases", "paraphrases line %d: want 4 non-empty tab-separated fields (set, source, question, paraphrase), got %d", n+1, len(f))
		}
		out = append(out, Paraphrase{Set: f[0], Source: f[1], Original: f[2], Text: f[3]})
	}
	return out, nil
}

// Query is a search for one pair's answer with other words than its
// question.
type Query struct {
	Text string
	// Pair is the index of the pair whose answer is the relevant one.
	Pair int
}

// ParaphraseQueries maps the paraphrases of set to the pairs of that set:
// each must name a pair by its source and exact question (the first such
// pair when a file asks one question twice). A paraphrase whose original
// is not among pairs is an error: the set changed, and the paraphrases
// must follow it rather than silently shrink.
func ParaphraseQueries(set string, pairs []Pair, ps []Paraphrase) ([]Query, error) {
	type key struct{ source, question string }
	index := make(map[key]int, len(pairs))
	for i, p := range pairs {
		if _, dup := index[key{p.Source, p.Question}]; !dup {
			index[key{p.Source, p.Question}] = i
		}
	}
	var out []Query
	for _, p := range ps {
		if p.Set != set {
			continue
		}
		i, ok := index[key{p.Source, p.Original}]
		if !ok {
			return nil, ragd.Errorf(ragd.ENOTFOUND, "paraphrase %q: set %s has no question %q in %s", p.Text, set, p.Original, p.Source)
		}
		out = append(out, Query{Text: p.Text, Pair: i})
	}
	return out, nil
}

// stopwords are the English function words a paraphrase may share with
// its original: articles, pronouns, auxiliaries, prepositions,
// conjunctions, question words, and the pieces of contractions ("can't"
// gives "can" and "t").
var stopwords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about above after again against all am an and any are as at be because
		been before being below between both but by can could d did do does doing don down during each few for
		from further had has have having he her here hers herself him himself his how i if in into is it its
		itself just ll m me more most my myself no nor not now of off on once only or other our ours ourselves
		out over own re s same she should so some such t than that the their theirs them themselves then there
		these they this those through to too under until up ve very was we were what when where which while who
		whom why will with would you your yours yourself yourselves`) {
		m[w] = true
	}
	return m
}()

// suffixes are the endings stem strips, longest first, with what replaces
// them.
var suffixes = []struct{ end, repl string }{
	{"ations", ""}, {"ation", ""}, {"ments", ""}, {"ment", ""}, {"ities", ""}, {"ity", ""}, {"ions", ""}, {"ion", ""},
	{"ingly", ""}, {"ings", ""}, {"ing", ""}, {"edly", ""}, {"ied", "y"}, {"ies", "y"}, {"ed", ""},
	{"ables", ""}, {"able", ""}, {"ibles", ""}, {"ible", ""}, {"ers", ""}, {"er", ""}, {"als", ""}, {"al", ""},
	{"ly", ""}, {"es", ""}, {"s", ""},
}

// stem is a crude English stemmer for the paraphrase rule: it strips the
// first of suffixes that leaves at least three letters ("ss" is never
// stripped of its "s"), then a final "e", then one of a doubled final
// consonant. So "install", "installing", "installation" and "installed"
// meet, as do "program", "programs" and "programmer", and "line" and
// "liners". It over-stems ("number" -> "numb"), which only makes the rule
// stricter.
func stem(w string) string {
	for _, s := range suffixes {
		if strings.HasSuffix(w, s.end) && len(w)-len(s.end) >= 3 && !(s.end == "s" && strings.HasSuffix(w, "ss")) {
			w = w[:len(w)-len(s.end)] + s.repl
			break
		}
	}
	if len(w) > 3 && strings.HasSuffix(w, "e") {
		w = w[:len(w)-1]
	}
	if n := len(w); n > 3 && w[n-1] == w[n-2] && !strings.ContainsRune("aeiouy", rune(w[n-1])) {
		w = w[:n-1]
	}
	return w
}

// contentStems returns the stems of the content words of s: its words
// (embed.Words) less the stopwords.
func contentStems(s string) map[string]string {
	out := map[string]string{}
	for _, w := range embed.Words(s) {
		if !stopwords[w] {
			out[stem(w)] = w
		}
	}
	return out
}

// SharedContentWords returns the content words of paraphrase whose stems
// are stems of content words of original, as "word (original's word)";
// none means the paraphrase obeys the rule of the paraphrase set.
func SharedContentWords(original, paraphrase string) []string {
	orig := contentStems(original)
	var shared []string
	for _, w := range embed.Words(paraphrase) {
		if o, ok := orig[stem(w)]; ok && !stopwords[w] {
			shared = append(shared, fmt.Sprintf("%s (%s)", w, o))
		}
	}
	return shared
}
