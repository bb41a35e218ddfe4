package rag

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ragd/ragd/tokenize"
)

// ExtractiveModel is the built-in model that answers without any model
// server by quoting the passages it is given.
const ExtractiveModel = "ragd-extractive"

// extractiveDescription labels the built-in model honestly in /v1/models.
const extractiveDescription = "extractive: quotes retrieved passages, no generative model"

// extractiveContextWindow is the prompt size the extractive model takes;
// it reads every passage, so this only bounds the packing.
const extractiveContextWindow = 16384

// maxQuotedSentences and the sentence lengths bound an extractive answer;
// shorter sentences are headings or fragments, not answers.
const (
	maxQuotedSentences = 3
	minSentenceWords   = 5
	maxSentenceWords   = 80
	minRelativeScore   = 0.5
)

// wordCount counts the words of s that hold a letter.
func wordCount(s string) int {
	n := 0
	for _, w := range strings.Fields(s) {
		if strings.IndexFunc(w, unicode.IsLetter) >= 0 {
			n++
		}
	}
	return n
}

// BM25 parameters for scoring sentences against the question.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// Answers of the extractive model when it has nothing to quote.
const (
	extractiveNothingFound = "I found nothing relevant to this question in the collection."
	extractiveNoMatch      = "The retrieved passages do not appear to answer this question: none of them mentions its terms."
	extractiveNoContext    = "ragd-extractive is not a generative model: it only quotes passages. " +
		"Ask through POST /v1/chat/completions/RAG with a collection, or put the text to quote in earlier messages."
)

// Extractive is the built-in model ragd-extractive. For a RAG request it
// quotes the sentences of the retrieved passages that best match the
// question (BM25 over sentences), each followed by its citation [n]. For a
// plain chat request it does the same over the text of the messages before
// the last user message (system, developer, user and tool messages,
// numbered in order from 1); with no such text it says what it is.
type Extractive struct {
	enc *tokenize.Encoding
	now func() time.Time
}

var _ Provider = (*Extractive)(nil)

// NewExtractive returns the extractive model.
func NewExtractive() *Extractive {
	return &Extractive{enc: tokenize.MustGet(tokenize.CL100K), now: time.Now}
}

// Name returns "ragd", the owner of the built-in models.
func (x *Extractive) Name() string { return "ragd" }

// extractiveAnswer is one answer of the extractive model.
type extractiveAnswer struct {
	sentences []string // each with its citation
	finish    string
	usage     Usage
}

// Complete answers req whole.
func (x *Extractive) Complete(ctx context.Context, req *ChatRequest) (*ChatResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a := x.answer(req)
	body, _ := json.Marshal(map[string]any{
		"id": newCompletionID(), "object": "chat.completion", "created": x.now().Unix(), "model": ExtractiveModel,
		"choices": []map[string]any{{"index": 0, "finish_reason": a.finish,
			"message": map[string]any{"role": "assistant", "content": strings.Join(a.sentences, " ")}}},
		"usage": a.usage,
	})
	return ParseChatResponse(body)
}

// Stream answers req as a few chunks: the role, one per quoted sentence,
// the finish reason, and the usage when stream_options.include_usage asks.
func (x *Extractive) Stream(ctx context.Context, req *ChatRequest) (Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a := x.answer(req)
	id, created := newCompletionID(), x.now().Unix()
	chunkOf := func(delta map[string]any, finish any, usage *Usage) json.RawMessage {
		c := map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": ExtractiveModel,
			"choices": []map[string]any{{"index": 0, "delta": delta, "finish_reason": finish}}}
		if usage != nil {
			c["choices"] = []any{}
			c["usage"] = usage
		}
		data, _ := json.Marshal(c)
		return data
	}
	chunks := []json.RawMessage{chunkOf(map[string]any{"role": "assistant", "content": ""}, nil, nil)}
	for i, s := range a.sentences {
		if i > 0 {
			s = " " + s
		}
		chunks = append(chunks, chunkOf(map[string]any{"content": s}, nil, nil))
	}
	chunks = append(chunks, chunkOf(map[string]any{}, a.finish, nil))
	var opts struct {
		IncludeUsage bool `json:"include_usage"`
	}
	_ = req.obj.get("stream_options", &opts)
	if opts.IncludeUsage {
		chunks = append(chunks, chunkOf(nil, nil, &a.usage))
	}
	return &sliceStream{ctx: ctx, chunks: chunks}, nil
}

// sliceStream is a Stream of chunks already made.
type sliceStream struct {
	ctx    context.Context
	chunks []json.RawMessage
}

func (s *sliceStream) Recv() (json.RawMessage, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, err
	}
	if len(s.chunks) == 0 {
		return nil, io.EOF
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
}

func (s *sliceStream) Close() error {
	s.chunks = nil
	return nil
}

// answer picks the sentences to quote.
func (x *Extractive) answer(req *ChatRequest) extractiveAnswer {
	msgs, _ := req.decodeMessages()
	query := lastUserText(msgs)
	var passages []string
	empty := extractiveNothingFound
	if req.rag {
		for _, p := range req.passages {
			passages = append(passages, p.Content)
		}
	} else {
		passages, empty = conversationPassages(msgs), extractiveNoContext
	}
	var sentences []string
	switch picked := pickSentences(query, passages, maxQuotedSentences); {
	case len(passages) == 0:
		sentences = []string{empty}
	case len(picked) == 0:
		sentences = []string{extractiveNoMatch}
	default:
		sentences = picked
	}
	a := extractiveAnswer{finish: "stop"}
	if limit, ok := req.MaxTokens(); ok {
		sentences, a.finish = x.limitTokens(sentences, limit)
	}
	a.sentences = sentences
	a.usage.PromptTokens = countMessages(x.enc, msgs)
	a.usage.CompletionTokens = x.enc.Count(strings.Join(sentences, " "))
	a.usage.TotalTokens = a.usage.PromptTokens + a.usage.CompletionTokens
	return a
}

// limitTokens keeps the sentences within limit tokens, cutting the last
// one at a token boundary; the finish reason is "length" when it cut.
func (x *Extractive) limitTokens(sentences []string, limit int) ([]string, string) {
	used := 0
	for i, s := range sentences {
		tokens := x.enc.Encode(" " + s)
		if used+len(tokens) <= limit {
			used += len(tokens)
			continue
		}
		out := sentences[:i]
		if cut := strings.TrimSpace(strings.ToValidUTF8(x.enc.Decode(tokens[:limit-used]), "")); cut != "" {
			out = append(out[:i:i], cut)
		}
		return out, "length"
	}
	return sentences, "stop"
}

// conversationPassages returns the texts a plain chat request gives the
// extractive model: the messages before the last user message, except the
// assistant's own.
func conversationPassages(msgs []message) []string {
	last := len(msgs) - 1
	for last >= 0 && msgs[last].Role != "user" {
		last--
	}
	var out []string
	for _, m := range msgs[:max(last, 0)] {
		if m.Role != "assistant" {
			if t := strings.TrimSpace(m.text()); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// sentence is one sentence of a passage with its terms.
type sentence struct {
	text    string
	passage int
	terms   map[string]int
	length  int
}

// pickSentences returns up to n sentences of the passages that best match
// the query by BM25, best first, each followed by " [k]" naming its
// passage (numbered from 1). Sentences sharing no term with the query are
// never picked, nor those scoring under minRelativeScore of the best; ties
// go to the higher-ranked passage.
func pickSentences(query string, passages []string, n int) []string {
	qterms := map[string]bool{}
	for _, t := range terms(query) {
		qterms[t] = true
	}
	var all []sentence
	df := map[string]int{}
	total := 0
	for pi, p := range passages {
		for _, s := range splitSentences(p) {
			ts := terms(s)
			if len(ts) == 0 || wordCount(s) < minSentenceWords {
				continue
			}
			st := sentence{text: s, passage: pi, terms: map[string]int{}, length: len(ts)}
			for _, t := range ts {
				if st.terms[t] == 0 && qterms[t] {
					df[t]++
				}
				st.terms[t]++
			}
			all = append(all, st)
			total += len(ts)
		}
	}
	if len(all) == 0 || len(qterms) == 0 {
		return nil
	}
	avg := float64(total) / float64(len(all))
	N := float64(len(all))
	type scored struct {
		i     int
		score float64
	}
	var ranked []scored
	for i, st := range all {
		var score float64
		for t := range qterms {
			tf := float64(st.terms[t])
			if tf == 0 {
				continue
			}
			idf := math.Log(1 + (N-float64(df[t])+0.5)/(float64(df[t])+0.5))
			score += idf * tf * (bm25K1 + 1) / (tf + bm25K1*(1-bm25B+bm25B*float64(st.length)/avg))
		}
		if score > 0 {
			ranked = append(ranked, scored{i, score})
		}
	}
	sort.SliceStable(ranked, func(a, b int) bool { return ranked[a].score > ranked[b].score })
	var out []string
	seen := map[string]bool{}
	for _, r := range ranked {
		st := all[r.i]
		if r.score < minRelativeScore*ranked[0].score {
			break
		}
		if seen[st.text] {
			continue
		}
		seen[st.text] = true
		out = append(out, shorten(st.text, maxSentenceWords)+" ["+strconv.Itoa(st.passage+1)+"]")
		if len(out) == n {
			break
		}
	}
	return out
}

// splitSentences splits text at sentence ends (., ! or ? before a space,
// except after a section number like "6.") and at blank lines; single line
// breaks of hard-wrapped text are spaces.
func splitSentences(text string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if s := strings.Join(strings.Fields(b.String()), " "); s != "" {
			out = append(out, s)
		}
		b.Reset()
	}
	runes := []rune(text)
	for i, r := range runes {
		if r == '\n' {
			j := i + 1
			for j < len(runes) && (runes[j] == ' ' || runes[j] == '\t' || runes[j] == '\r') {
				j++
			}
			if j < len(runes) && runes[j] == '\n' {
				flush()
			}
			b.WriteRune(' ')
			continue
		}
		b.WriteRune(r)
		if (r == '.' || r == '!' || r == '?') && (i+1 == len(runes) || unicode.IsSpace(runes[i+1])) && !endsWithNumber(b.String()) {
			flush()
		}
	}
	flush()
	return out
}

// endsWithNumber reports whether s ends with a section number like "6."
// or "1.2.".
func endsWithNumber(s string) bool {
	words := strings.Fields(s)
	last := strings.Trim(words[len(words)-1], ".")
	return last != "" && strings.Trim(last, "0123456789.") == ""
}

// shorten cuts s after n words.
func shorten(s string, n int) string {
	words := strings.Fields(s)
	if len(words) <= n {
		return s
	}
	return strings.Join(words[:n], " ") + " ..."
}

// stopwords are common English words that carry no topic.
var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be but by can do does did for from has have how i if in into
		is it its me my no not of on or our so than that the their them then there these they this to was we were what
		when where which who whom why will with would you your about also any all more most other some such only own
		same should very just been being had having here there out up down over under again further once am`) {
		stopwords[w] = true
	}
}

// terms returns the lower-cased, lightly stemmed content words of s.
func terms(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if len(w) < 2 || stopwords[w] {
			continue
		}
		out = append(out, stem(w))
	}
	return out
}

// stem folds the common English suffixes so that "provides",
// "provided" and "provide" meet, as do "warranty" and "warranties".
func stem(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		w = w[:len(w)-3] + "y"
	case len(w) > 5 && strings.HasSuffix(w, "ing"):
		w = w[:len(w)-3]
	case len(w) > 4 && strings.HasSuffix(w, "ed"):
		w = w[:len(w)-2]
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		w = w[:len(w)-1]
	}
	if len(w) > 4 && strings.HasSuffix(w, "e") {
		w = w[:len(w)-1]
	}
	return w
}
