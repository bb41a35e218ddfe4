package extract

import (
	"regexp"
	"strings"
)

var (
	mdHeading   = regexp.MustCompile(`^ {0,3}#{1,6}(\s+|$)`)
	mdRule      = regexp.MustCompile(`^ {0,3}([-=*_]\s*){3,}$`)
	mdSetext    = regexp.MustCompile(`^ {0,3}(={3,}|-{3,})\s*$`)
	mdFence     = regexp.MustCompile("^ {0,3}(```|~~~)")
	mdRefDef    = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*\S+`)
	mdTableSep  = regexp.MustCompile(`^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$`)
	mdQuote     = regexp.MustCompile(`^ {0,3}(>\s?)+`)
	mdBullet    = regexp.MustCompile(`^(\s*)[*+-]\s+`)
	mdImage     = regexp.MustCompile(`!\[([^\]]*)\]\([^)]*\)`)
	mdLink      = regexp.MustCompile(`\[([^\]]+)\](\([^)]*\)|\[[^\]]*\])`)
	mdAutolink  = regexp.MustCompile(`<((?:https?|mailto):[^>\s]+)>`)
	mdTag       = regexp.MustCompile(`</?[A-Za-z][^>]*>|<!--.*?-->`)
	mdStrong    = regexp.MustCompile(`(\*\*|__)(\S(?:.*?\S)?)(\*\*|__)`)
	mdEmphasis  = regexp.MustCompile(`(^|[^\w*])[*_](\S(?:[^*_]*?\S)?)[*_]($|[^\w*])`)
	mdCode      = regexp.MustCompile("`+([^`]*)`+")
	mdEscape    = regexp.MustCompile(`\\([\\` + "`" + `*_{}\[\]()#+\-.!|>])`)
	mdHeadClose = regexp.MustCompile(`\s+#+\s*$`)
	// mdHeadImage matches an image, linked or not: in a heading it is a
	// badge or an icon, not part of the title.
	mdHeadImage = regexp.MustCompile(`\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)|!\[[^\]]*\]\([^)]*\)`)
)

// parseMarkdown keeps a Markdown file's headings and paragraphs as blocks
// and drops the markup: emphasis, link targets, images' URLs, HTML tags,
// code fences, rules, table separators, YAML front matter and images in
// headings. Headings are ATX ("## Title") or setext (a paragraph
// underlined with "===" or "---").
func parseMarkdown(j *job) error {
	r, err := j.textReader()
	if err != nil {
		return err
	}
	b := &blocks{j: j, inline: mdInline}
	inFence, inFront, first := false, false, true
	return paragraphs(lines(r, j.lim.MaxSegment), b, func(l, para string) line {
		wasFirst := first
		first = false
		switch {
		case wasFirst && strings.TrimSpace(l) == "---":
			inFront = true
			return line{kind: lineDrop}
		case inFront:
			inFront = strings.TrimSpace(l) != "---" && strings.TrimSpace(l) != "..."
			return line{kind: lineDrop}
		case mdFence.MatchString(l):
			inFence = !inFence
			return line{} // a fence starts or ends a paragraph
		case inFence:
			return line{text: l}
		case mdHeading.MatchString(l):
			t := strings.TrimLeft(l, " ")
			level := len(t) - len(strings.TrimLeft(t, "#"))
			l = mdHeadImage.ReplaceAllString(mdHeading.ReplaceAllString(l, ""), "")
			return line{text: mdHeadClose.ReplaceAllString(l, ""), kind: lineHeading, level: level}
		case para != "" && !strings.HasPrefix(para, "- ") && mdSetext.MatchString(l):
			level := 1
			if strings.TrimSpace(l)[0] == '-' {
				level = 2
			}
			return line{text: para, kind: lineUnderline, level: level}
		case mdRule.MatchString(l), mdRefDef.MatchString(l), mdTableSep.MatchString(l):
			return line{kind: lineDrop}
		}
		l = mdQuote.ReplaceAllString(l, "")
		l = mdBullet.ReplaceAllString(l, "$1- ")
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "|") && strings.HasSuffix(t, "|") && len(t) > 1 {
			l = strings.TrimSpace(t[1 : len(t)-1])
		}
		return line{text: l}
	})
}

// mdInline strips inline markup from a paragraph.
func mdInline(l string) string {
	l = mdImage.ReplaceAllString(l, "$1")
	l = mdLink.ReplaceAllString(l, "$1")
	l = mdAutolink.ReplaceAllString(l, "$1")
	l = mdTag.ReplaceAllString(l, "")
	l = mdCode.ReplaceAllString(l, "$1")
	l = mdStrong.ReplaceAllString(l, "$2")
	l = mdEmphasis.ReplaceAllString(l, "$1$2$3")
	return mdEscape.ReplaceAllString(l, "$1")
}
