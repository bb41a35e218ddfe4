package rag

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/tokenize"
)

// OpenAI's accounting of a chat prompt: each message costs its text plus
// a few framing tokens, and the reply is primed with a few more.
const (
	perMessageTokens   = 3
	replyPrimingTokens = 3
)

// boundarySlack bounds the tokens BPE may add where two separately counted
// pieces of a prompt meet.
const boundarySlack = 2

// minTruncatedTokens is the shortest piece of a passage worth including
// when only part of it fits.
const minTruncatedTokens = 48

// DefaultMaxTokens is the room left for the answer when a RAG request
// sets no max_tokens (the RAG API's documented default).
const DefaultMaxTokens = 512

const (
	instructions = "You answer questions using the numbered sources below: passages retrieved from a document collection.\n" +
		"- Base your answer only on the sources, and cite each fact with the number of its source in square brackets, like [1] or [2][3].\n" +
		"- If the sources do not contain the answer, say that the sources do not contain it; do not guess.\n\nSources:\n\n"
	nothingFound = "You answer questions using passages retrieved from a document collection, " +
		"but the search found no passage relevant to this question. " +
		"Say that nothing relevant was found in the collection; do not make up an answer and do not cite sources."
	truncationMark = " [...]"
)

// countMessages counts a conversation's prompt tokens as OpenAI does.
func countMessages(enc *tokenize.Encoding, msgs []message) int {
	n := replyPrimingTokens
	for _, m := range msgs {
		n += perMessageTokens + enc.Count(m.Role) + enc.Count(m.text())
		if m.Name != "" {
			n += 1 + enc.Count(m.Name)
		}
		if len(m.ToolCalls) > 0 && string(m.ToolCalls) != "null" {
			n += enc.Count(string(m.ToolCalls))
		}
	}
	return n
}

// systemMessageTokens is the framing cost of the system message ragd adds.
func systemMessageTokens(enc *tokenize.Encoding) int {
	return perMessageTokens + enc.Count("system")
}

// sourceLabel names a passage for citation: its file name (or item
// description, or item id), the section it is in, quoted, and its page,
// as in `manual.md, "Install > On Windows", page 3`, so that the model
// can say where in a document its answer comes from.
func sourceLabel(r ragd.SearchResult) string {
	label := r.ItemID
	switch {
	case r.Filename != nil && *r.Filename != "":
		label = *r.Filename
	case r.Description != "":
		label = r.Description
	}
	if utf8.RuneCountInString(label) > 80 {
		label = string([]rune(label)[:80]) + "..."
	}
	if r.Position.Section != "" {
		label += `, "` + sectionLabel(r.Position.Section) + `"`
	}
	if r.Position.Page > 0 {
		label += fmt.Sprintf(", page %d", r.Position.Page)
	}
	return label
}

// maxSectionRunes bounds a section in a source's label, which is repeated
// for every passage in the prompt.
const maxSectionRunes = 120

// sectionLabel shortens a section path longer than maxSectionRunes to its
// end, from a word boundary: the innermost headings locate the passage
// best.
func sectionLabel(section string) string {
	r := []rune(section)
	if len(r) <= maxSectionRunes {
		return section
	}
	end := string(r[len(r)-maxSectionRunes:])
	if i := strings.IndexByte(end, ' '); i >= 0 {
		end = end[i:]
	}
	return "..." + end
}

// packedPrompt is a RAG system prompt and the passages it holds.
type packedPrompt struct {
	// text is the system message content.
	text string
	// used are the passages included, numbered from 1 in this order; the
	// last one's Content is cut when only part of it fit.
	used []ragd.SearchResult
	// tokens is the token count of text, or an upper bound of it.
	tokens int
}

// packPrompt builds the system prompt from the results, best first, within
// budget tokens: passages are added in rank order until one does not fit,
// which is cut at a token boundary when a useful part of it fits; the
// lower-ranked ones are dropped. It returns ok false when not even the
// instructions fit.
func packPrompt(enc *tokenize.Encoding, results []ragd.SearchResult, budget int) (packedPrompt, bool) {
	if len(results) == 0 {
		n := enc.Count(nothingFound)
		return packedPrompt{text: nothingFound, tokens: n, used: []ragd.SearchResult{}}, n <= budget
	}
	// Pieces are counted apart; the whole text can count a token or two
	// more where BPE merges across a boundary, so check and shrink.
	limit := budget
	for range 4 {
		p, ok := packWithin(enc, results, limit)
		if ok && len(p.used) == 0 {
			// Not even a cut passage fits: answer as if nothing was found.
			return packPrompt(enc, nil, budget)
		}
		if !ok || p.tokens <= budget {
			return p, ok && p.tokens <= budget
		}
		limit -= p.tokens - budget
	}
	return packedPrompt{}, false
}

// packWithin packs the results with pieces counted apart.
func packWithin(enc *tokenize.Encoding, results []ragd.SearchResult, budget int) (packedPrompt, bool) {
	var b strings.Builder
	b.WriteString(instructions)
	used := enc.Count(instructions)
	if used > budget {
		return packedPrompt{}, false
	}
	p := packedPrompt{used: []ragd.SearchResult{}}
	for _, r := range results {
		header := fmt.Sprintf("[%d] %s\n", len(p.used)+1, sourceLabel(r))
		headerTokens := enc.Count(header)
		r.Content = strings.TrimSpace(r.Content)
		bodyTokens := enc.Encode(r.Content + "\n\n")
		if used+headerTokens+len(bodyTokens) <= budget {
			b.WriteString(header)
			b.WriteString(r.Content + "\n\n")
			used += headerTokens + len(bodyTokens)
			p.used = append(p.used, r)
			continue
		}
		keep := budget - used - headerTokens - enc.Count(truncationMark+"\n\n")
		if keep >= minTruncatedTokens {
			r.Content = strings.TrimSpace(strings.ToValidUTF8(enc.Decode(bodyTokens[:keep]), ""))
			b.WriteString(header)
			b.WriteString(r.Content + truncationMark + "\n\n")
			p.used = append(p.used, r)
		}
		break
	}
	p.text = strings.TrimRight(b.String(), "\n")
	// Every piece ends in a line break and the next starts with a
	// non-space, where tiktoken's pre-tokenizer splits anyway; allow a
	// token or two per boundary and count the whole text only when that
	// margin could overflow the budget.
	p.tokens = used + boundarySlack*(2*len(p.used)+1)
	if p.tokens > budget {
		p.tokens = enc.Count(p.text)
	}
	return p, true
}
