package rag

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ragd/ragd"
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

// quoteBudget bounds every quote, in tokens: about a paragraph. A longer
// quote of the right passage gains recall, a longer quote of a wrong one
// loses precision. Swept on both FAQ sets (docs/benchmarks.md): at 150
// precision was 0.003 below the baseline on both, at 110 it is above it
// on both while recall stays above it on both; at 100 recall falls to the
// baseline's.
const quoteBudget = 110

// unsureQuoteGroups bounds the quote of a passage that retrieval ranked
// first but that another retrieved passage out-matches on the question's
// words, in sentences (each with what it introduces).
const unsureQuoteGroups = 3

// BM25 parameters for scoring passages and paragraphs against the
// question.
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
// quotes one retrieved passage, the one matching the question's terms
// best, in document order with its code blocks and lists, followed by
// its citation [n] (see quote). For a plain chat request it does the same
// with the text of the messages before the last user message (system,
// developer, user and tool messages, numbered in order from 1); with no
// such text it says what it is.
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
	// pieces are the answer's text, one streamed chunk each: a sentence,
	// list item or code block with its citation and the separator before
	// it.
	pieces []string
	finish string
	usage  Usage
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
			"message": map[string]any{"role": "assistant", "content": strings.Join(a.pieces, "")}}},
		"usage": a.usage,
	})
	return ParseChatResponse(body)
}

// Stream answers req as a few chunks: the role, one per quoted sentence,
// list item or block, the finish reason, and the usage when
// stream_options.include_usage asks.
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
	for _, p := range a.pieces {
		chunks = append(chunks, chunkOf(map[string]any{"content": p}, nil, nil))
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

// answer picks the text to quote.
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
	var pieces []string
	switch quoted := x.quote(query, passages, req.rag); {
	case len(passages) == 0:
		pieces = []string{empty}
	case len(quoted) == 0:
		pieces = []string{extractiveNoMatch}
	default:
		pieces = quoted
	}
	a := extractiveAnswer{finish: "stop"}
	if limit, ok := req.MaxTokens(); ok {
		pieces, a.finish = x.limitTokens(pieces, limit)
	}
	a.pieces = pieces
	a.usage.PromptTokens = countMessages(x.enc, msgs)
	a.usage.CompletionTokens = x.enc.Count(strings.Join(pieces, ""))
	a.usage.TotalTokens = a.usage.PromptTokens + a.usage.CompletionTokens
	return a
}

// limitTokens keeps the pieces within limit tokens, cutting the last one
// at a token boundary; the finish reason is "length" when it cut.
func (x *Extractive) limitTokens(pieces []string, limit int) ([]string, string) {
	used := 0
	for i, p := range pieces {
		tokens := x.enc.Encode(p)
		if used+len(tokens) <= limit {
			used += len(tokens)
			continue
		}
		out := pieces[:i]
		if cut := strings.TrimRightFunc(strings.ToValidUTF8(x.enc.Decode(tokens[:limit-used]), ""), unicode.IsSpace); strings.TrimSpace(cut) != "" {
			out = append(out[:i:i], cut)
		}
		return out, "length"
	}
	return pieces, "stop"
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

// quote returns the answer's pieces: a quote of one passage, numbered
// from 1 in its citation, or nil when no passage shares a term with the
// query. When ranked says the passages come best first from retrieval,
// the passage quoted is the first; otherwise (plain chat, where the
// passages are the conversation's text) it is the one matching the
// query's terms best by BM25, the earliest on a tie. It is quoted up to
// quoteBudget tokens.
//
// Measured on the FAQ question/answer sets (gold-answer word recall and
// precision against the first three sentences of retrieval's first
// passage): any quote of the right passage has precision 1 and gains
// recall with length, while sentences from a second passage cost
// precision whenever the first was right, and a long quote of a wrong
// passage costs precision too. So the quote is one contiguous run of one
// passage in document order, made of whole groups (a sentence ending in
// ":" keeps the block, list or line it introduces), starting at the
// paragraph that matches the query best, where a chunk of a long
// document holds the part asked about; when the passage ends before the
// budget does, the paragraphs before it are quoted too.
func (x *Extractive) quote(query string, passages []string, ranked bool) []string {
	qterms := map[string]bool{}
	for _, t := range terms(query) {
		qterms[t] = true
	}
	if len(qterms) == 0 {
		return nil
	}
	docs := make([][]string, len(passages))
	for i, p := range passages {
		docs[i] = terms(p)
	}
	scores := bm25Scores(qterms, docs)
	best := 0
	for i, s := range scores {
		if s > scores[best] {
			best = i
		}
	}
	if len(scores) == 0 || scores[best] == 0 {
		return nil
	}
	// sure: the passage to quote is also the one matching the question's
	// words best. Unsure quotes stop at unsureQuoteGroups.
	sure := true
	if ranked {
		// Retrieval's first passage, even where another matches the
		// question's words better: with the default model's hybrid search
		// that override cost 0.09 of precision on both FAQ sets. But the
		// disagreement says retrieval may be wrong, and a long quote of a
		// wrong passage costs precision, so the quote is then as short as
		// the first sentences a reader skims, from the passage's start.
		sure = best == 0
		best = 0
	}
	units := parsePassage(passages[best])
	if len(units) == 0 {
		return nil // its terms were all in markup, such as an rst target
	}
	tokens := make([]int, len(units))
	for i, u := range units {
		tokens[i] = x.enc.Count(u.text) + 1
	}
	start, maxGroups := bestParagraph(qterms, units), len(units)
	if !sure {
		start, maxGroups = 0, unsureQuoteGroups
	}
	end, used := start, 0
	var cut []unit
	for groups := 0; end < len(units) && groups < maxGroups; groups++ {
		j := groupEnd(units, end)
		cost := sum(tokens[end:j])
		if used+cost > quoteBudget {
			if end == start {
				// Not even the first group fits: quote the start of it.
				cut = x.cutUnits(units[end:j], tokens[end:j], quoteBudget)
			}
			break
		}
		used += cost
		end = j
	}
	if end == len(units) && sure {
		// The passage ended first: spend the rest on the paragraphs before.
		for start > 0 {
			p := start - 1
			for p > 0 && (!units[p].para || units[p-1].binds) {
				p--
			}
			if used+sum(tokens[p:start]) > quoteBudget {
				break
			}
			used += sum(tokens[p:start])
			start = p
		}
	}
	return renderQuote(append(units[start:end:end], cut...), best+1)
}

// sum adds up ns.
func sum(ns []int) int {
	n := 0
	for _, v := range ns {
		n += v
	}
	return n
}

// groupEnd returns the end of the group of units starting at i: a unit
// and, while the last one ends in ":", what it introduces (a whole list
// up to the next paragraph, a block, or the next sentence).
func groupEnd(units []unit, i int) int {
	j := i + 1
	for j < len(units) && units[j-1].binds {
		if units[j].kind == unitItem {
			for j++; j < len(units) && !units[j].para; j++ {
			}
		} else {
			j++
		}
	}
	return j
}

// cutUnits fits a group larger than budget: whole units while they fit,
// then the start of the next one, cut at a word (prose) or a line (code)
// with a mark of the cut. A unit introducing what did not fit at all is
// left out with it.
func (x *Extractive) cutUnits(units []unit, tokens []int, budget int) []unit {
	out := x.fitUnits(units, tokens, budget)
	for len(out) > 0 && out[len(out)-1].binds {
		out = out[:len(out)-1]
	}
	return out
}

// fitUnits returns the units that fit budget, the last one cut.
func (x *Extractive) fitUnits(units []unit, tokens []int, budget int) []unit {
	var out []unit
	for i, u := range units {
		if tokens[i] <= budget {
			out = append(out, u)
			budget -= tokens[i]
			continue
		}
		if u.kind == unitCode {
			lines := strings.Split(u.text, "\n")
			fenced := len(lines) > 1 && isFence(lines[0])
			var kept []string
			for _, l := range lines {
				if budget -= x.enc.Count(l) + 1; budget < 2 {
					break
				}
				kept = append(kept, l)
			}
			if fenced && len(kept) > 1 {
				kept = append(kept, lines[0][:3])
			}
			if len(kept) > 1 || (!fenced && len(kept) == 1) {
				u.text = strings.Join(kept, "\n")
				out = append(out, u)
			}
			break
		}
		toks := x.enc.Encode(u.text)
		cut := strings.ToValidUTF8(x.enc.Decode(toks[:max(budget-2, 0)]), "")
		if sp := strings.LastIndexFunc(cut, unicode.IsSpace); sp > len(cut)/2 {
			cut = cut[:sp]
		}
		if cut = strings.TrimSpace(cut); cut != "" {
			u.text = cut + " ..."
			out = append(out, u)
		}
		break
	}
	return out
}

// bestParagraph returns the index of the unit starting the paragraph
// that matches qterms best by BM25 among the passage's paragraphs (the
// earliest on a tie), moved back over a unit introducing it.
func bestParagraph(qterms map[string]bool, units []unit) int {
	var starts []int
	var docs [][]string
	for i, u := range units {
		if i == 0 || u.para {
			starts = append(starts, i)
			docs = append(docs, nil)
		}
		docs[len(docs)-1] = append(docs[len(docs)-1], terms(u.text)...)
	}
	scores := bm25Scores(qterms, docs)
	best := 0
	for i, s := range scores {
		if s > scores[best] {
			best = i
		}
	}
	start := starts[best]
	for start > 0 && units[start-1].binds {
		start--
	}
	return start
}

// renderQuote returns the pieces of a quote of passage n: each unit with
// the separator before it (a space, none after an ideographic full stop,
// a line break for a list item or an introduced line, a blank line for a
// paragraph, heading or block), and the citation [n] after each run of
// text that ends a paragraph or introduces a block; a quote without such
// text (only headings and blocks) cites at its end.
func renderQuote(units []unit, n int) []string {
	cite := " [" + strconv.Itoa(n) + "]"
	var out []string
	cited := false
	for i, u := range units {
		text := u.text
		switch {
		case i == 0:
		case u.para || u.kind == unitCode:
			text = "\n\n" + text
		case u.line:
			text = "\n" + text
		case strings.HasSuffix(units[i-1].text, "。") || strings.HasSuffix(units[i-1].text, "！") || strings.HasSuffix(units[i-1].text, "？"):
		default:
			text = " " + text
		}
		if u.kind != unitCode && u.kind != unitHeading && (i == len(units)-1 || units[i+1].para || units[i+1].kind == unitCode) {
			text += cite
			cited = true
		}
		out = append(out, text)
	}
	if !cited && len(out) > 0 {
		out = append(out, "\n\n"+strings.TrimSpace(cite))
	}
	return out
}

// bm25Scores scores each document, given as its terms, against the query
// terms by BM25 with the documents' own statistics.
func bm25Scores(qterms map[string]bool, docs [][]string) []float64 {
	df := map[string]int{}
	total := 0
	tfs := make([]map[string]int, len(docs))
	for i, d := range docs {
		tfs[i] = map[string]int{}
		for _, t := range d {
			if qterms[t] {
				if tfs[i][t] == 0 {
					df[t]++
				}
				tfs[i][t]++
			}
		}
		total += len(d)
	}
	scores := make([]float64, len(docs))
	if total == 0 {
		return scores
	}
	n, avg := float64(len(docs)), float64(total)/float64(len(docs))
	for i, tf := range tfs {
		for t, f := range tf {
			idf := math.Log(1 + (n-float64(df[t])+0.5)/(float64(df[t])+0.5))
			scores[i] += idf * float64(f) * (bm25K1 + 1) / (float64(f) + bm25K1*(1-bm25B+bm25B*float64(len(docs[i]))/avg))
		}
	}
	return scores
}

// splitSentences splits text at sentence ends (., ! or ? before a space,
// except after a section number like "6.", and the ideographic 。！？)
// and at blank lines; single line breaks of hard-wrapped text are spaces.
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
		if (r == '.' || r == '!' || r == '?') && (i+1 == len(runes) || unicode.IsSpace(runes[i+1])) && !endsWithNumber(b.String()) ||
			r == '。' || r == '！' || r == '？' {
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

// terms returns the lower-cased, lightly stemmed content words of s.
//
// Chinese and Japanese are written without spaces, so each ideograph or
// kana is a term of its own, as in the unigram analyzers of search
// engines; a run of them would otherwise be one word that no question
// repeats.
func terms(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) || isIdeographic(r)
	}) {
		if len(w) < 2 || ragd.IsStopword(w) {
			continue
		}
		out = append(out, stem(w))
	}
	for _, r := range s {
		if isIdeographic(r) {
			out = append(out, string(r))
		}
	}
	return out
}

// isIdeographic reports whether r is a Han ideograph or a kana.
func isIdeographic(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana)
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
