package rag

import (
	"strings"
	"unicode"
)

// unitKind says how a unit of a passage is quoted.
type unitKind int

const (
	// unitSentence is a sentence of prose, reflowed onto one line.
	unitSentence unitKind = iota
	// unitItem is the first sentence of a list item, which starts a line.
	unitItem
	// unitCode is a code or literal block, quoted verbatim in a fence.
	unitCode
	// unitHeading is a section title, a paragraph of its own.
	unitHeading
)

// unit is the smallest piece of a passage the extractive model quotes: a
// sentence, a list item or a whole code block. A quote is a run of units
// in document order.
type unit struct {
	text string
	kind unitKind
	// para marks a unit that starts a paragraph (a blank line before it in
	// the answer); line one that starts a line of the same paragraph.
	para, line bool
	// binds marks a unit ending in ":": it introduces what follows, so a
	// quote never ends right after it.
	binds bool
}

// parsePassage cuts text into units. It knows the shapes retrieved text
// takes: hard-wrapped prose whose single line breaks are spaces, blank
// lines between paragraphs, fenced (``` or ~~~) code, reStructuredText
// literal blocks (an indented block after a paragraph ending in "::"),
// doctest blocks (">>>"), blocks indented four columns deeper than the
// passage after a paragraph ending in ":" (Markdown code), list items,
// section adornments (dropped), and a line ending in ":" that introduces
// the lines after it.
func parsePassage(text string) []unit {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	base := -1
	for _, l := range lines {
		if strings.TrimSpace(l) != "" && (base < 0 || indentOf(l) < base) {
			base = indentOf(l)
		}
	}
	p := passageParser{}
	var para []string // the lines of the prose paragraph being read
	paraIndent := 0
	for i := 0; i < len(lines); {
		l := lines[i]
		trimmed := strings.TrimSpace(l)
		switch {
		case trimmed == "":
			p.prose(para)
			para = nil
			p.blank = true
			i++
		case isAdornment(trimmed):
			if len(para) == 1 {
				p.heading(para[0])
			} else {
				p.prose(para)
			}
			para = nil
			p.blank = true
			i++
		case isFence(trimmed):
			p.prose(para)
			para = nil
			end := i + 1
			for end < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[end]), trimmed[:3]) {
				end++
			}
			end = min(end+1, len(lines))
			p.code(dedent(lines[i:end]), false)
			i = end
		case strings.HasPrefix(trimmed, ">>>") || (p.blank && p.introducesBlock(indentOf(l), paraIndent, base)):
			p.prose(para)
			para = nil
			end, indent := i+1, indentOf(l)
			for end < len(lines) && (strings.TrimSpace(lines[end]) == "" || indentOf(lines[end]) >= indent) &&
				!(strings.HasPrefix(trimmed, ">>>") && strings.TrimSpace(lines[end]) == "") {
				end++
			}
			for end > i && strings.TrimSpace(lines[end-1]) == "" {
				end--
			}
			p.code(dedent(lines[i:end]), true)
			i = end
		case strings.HasPrefix(trimmed, ".. "):
			// A reStructuredText comment, target or directive: not text,
			// but a code directive makes the next block literal.
			p.prose(para)
			para = nil
			p.literal = strings.Contains(trimmed, "code") && strings.Contains(trimmed, "::")
			p.blank = true
			i++
		case strings.HasPrefix(trimmed, "#") && strings.TrimLeft(trimmed, "#") != "" && strings.TrimLeft(trimmed, "#")[0] == ' ':
			// A Markdown heading.
			p.prose(para)
			para = nil
			p.heading(trimmed)
			i++
		case listMarker(trimmed) > 0:
			p.prose(para)
			para = nil
			item, indent := []string{trimmed}, indentOf(l)
			i++
			for i < len(lines) && strings.TrimSpace(lines[i]) != "" && indentOf(lines[i]) > indent && listMarker(strings.TrimSpace(lines[i])) == 0 {
				item = append(item, strings.TrimSpace(lines[i]))
				i++
			}
			p.item(item)
		default:
			if len(para) == 0 {
				paraIndent = indentOf(l)
			}
			para = append(para, trimmed)
			i++
		}
	}
	p.prose(para)
	return p.units
}

// passageParser collects the units of one passage.
type passageParser struct {
	units []unit
	// blank is set after a blank line or a block, until the next unit.
	blank bool
	// literal is set after a code directive, until the next unit.
	literal bool
	// list is set from a list item to the next paragraph or block.
	list bool
}

func (p *passageParser) add(u unit) {
	if len(p.units) == 0 {
		u.para, u.line = false, false
	}
	p.units = append(p.units, u)
	p.blank, p.literal = false, false
}

// last is the latest unit, or nil.
func (p *passageParser) last() *unit {
	if len(p.units) == 0 {
		return nil
	}
	return &p.units[len(p.units)-1]
}

// introducesBlock reports whether a block starting at column indent after
// a blank line is a literal block: after a paragraph ending in "::" any
// deeper indentation makes one (reStructuredText), after one ending in ":"
// it takes four columns beyond the passage's own indentation (Markdown).
func (p *passageParser) introducesBlock(indent, paraIndent, base int) bool {
	u := p.last()
	switch {
	case p.literal:
		return true
	case u == nil || !u.binds:
		return false
	case u.kind == unitSentence && strings.HasSuffix(u.text, "::"):
		return indent > paraIndent
	default:
		return indent >= base+4
	}
}

// prose adds the sentences of a paragraph of prose lines. A line ending
// in ":" ends its sentence unless the next line goes on in lower case
// (hard-wrapped text), and then the next one starts a line; so does such
// a line itself when the line before it ended a sentence (a term of a
// definition list, in text extracted from HTML).
func (p *passageParser) prose(lines []string) {
	if len(lines) > 0 {
		p.list = false
	}
	start := 0
	for i, l := range lines {
		if i > start && strings.HasSuffix(l, ":") && strings.ContainsAny(lines[i-1][len(lines[i-1])-1:], ".!?:") {
			p.sentences(lines[start:i], unit{kind: unitSentence, para: start == 0, line: start > 0})
			start = i
		}
		if i == len(lines)-1 || strings.HasSuffix(l, ":") && !startsLower(lines[i+1]) {
			p.sentences(lines[start:i+1], unit{kind: unitSentence, para: start == 0, line: start > 0})
			start = i + 1
		}
	}
}

// heading adds a section title.
func (p *passageParser) heading(title string) {
	p.list = false
	p.add(unit{text: title, kind: unitHeading, para: true})
	p.blank = true
}

// sentences adds the sentences of lines, the first one like first.
func (p *passageParser) sentences(lines []string, first unit) {
	for k, s := range splitSentences(strings.Join(lines, "\n")) {
		u := unit{text: s, kind: unitSentence, binds: strings.HasSuffix(s, ":")}
		if k == 0 {
			u.kind, u.para, u.line = first.kind, first.para, first.line
		}
		p.add(u)
	}
}

// item adds one list item: its first sentence starts a line, and a
// paragraph unless a list or an introducing ":" comes before it.
func (p *passageParser) item(lines []string) {
	last := p.last()
	p.sentences(lines, unit{kind: unitItem, line: true, para: !p.list && (last == nil || !last.binds)})
	p.list = true
}

// code adds a block quoted verbatim; fence puts it between ``` lines.
// The ":" or "::" that introduced it becomes a plain ":".
func (p *passageParser) code(lines []string, fence bool) {
	text := strings.Join(lines, "\n")
	if fence {
		text = "```\n" + text + "\n```"
	}
	if last := p.last(); last != nil && last.kind == unitSentence && strings.HasSuffix(last.text, "::") {
		if last.text = strings.TrimSpace(strings.TrimSuffix(last.text, "::")); last.text == "" {
			p.units = p.units[:len(p.units)-1]
		} else {
			last.text += ":"
		}
	}
	p.add(unit{text: text, kind: unitCode, para: true})
	p.blank, p.list = true, false
}

// startsLower reports whether s starts with a lower-case letter.
func startsLower(s string) bool {
	for _, r := range s {
		return unicode.IsLower(r)
	}
	return false
}

// indentOf is the width of l's leading white space, a tab counting 4.
func indentOf(l string) int {
	n := 0
	for _, r := range l {
		switch r {
		case ' ':
			n++
		case '\t':
			n += 4
		default:
			return n
		}
	}
	return n
}

// dedent removes the indentation lines share.
func dedent(lines []string) []string {
	common := -1
	for _, l := range lines {
		if strings.TrimSpace(l) != "" && (common < 0 || indentOf(l) < common) {
			common = indentOf(l)
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		cut := 0
		for w := 0; cut < len(l) && w < common && (l[cut] == ' ' || l[cut] == '\t'); cut++ {
			w += indentOf(l[cut : cut+1])
		}
		out[i] = l[cut:]
	}
	return out
}

// isFence reports whether a trimmed line opens or closes a fenced block.
func isFence(trimmed string) bool {
	return strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")
}

// isAdornment reports whether a trimmed line is a section adornment or a
// rule: one punctuation character repeated at least four times.
func isAdornment(trimmed string) bool {
	if len(trimmed) < 4 || !strings.ContainsRune("=-~^\"'`#*+_.:", rune(trimmed[0])) {
		return false
	}
	return strings.Count(trimmed, trimmed[:1]) == len(trimmed)
}

// listMarker returns the length of the list marker that starts a trimmed
// line ("- ", "* ", "+ ", "• ", "#. ", "1. ", "2) ", "(a) "), 0 when none.
func listMarker(trimmed string) int {
	for _, m := range []string{"- ", "* ", "+ ", "• ", "#. "} {
		if strings.HasPrefix(trimmed, m) {
			return len(m)
		}
	}
	i := strings.IndexFunc(trimmed, func(r rune) bool { return !unicode.IsDigit(r) })
	if i > 0 && i <= 3 && (strings.HasPrefix(trimmed[i:], ". ") || strings.HasPrefix(trimmed[i:], ") ")) {
		return i + 2
	}
	if strings.HasPrefix(trimmed, "(") {
		if j := strings.Index(trimmed, ") "); j > 1 && j <= 4 {
			return j + 2
		}
	}
	return 0
}
