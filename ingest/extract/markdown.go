package extract

import (
	"regexp"
	"strings"
)

var (
	mdHeading   = regexp.MustCompile(`^ {0,3}#{1,6}(\s+|$)`)
	mdRule      = regexp.MustCompile(`^ {0,3}([-=*_]\s*){3,}$`)
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
)

// parseMarkdown keeps a Markdown file's headings and paragraphs as blocks
// and drops the markup: emphasis, link targets, images' URLs, HTML tags,
// code fences, rules, table separators and YAML front matter.
func parseMarkdown(j *job) error {
	r, err := j.textReader()
	if err != nil {
		return err
	}
	b := &blocks{j: j, inline: mdInline}
	inFence, inFront, first := false, false, true
	return paragraphs(lines(r, j.lim.MaxSegment), b, func(l string) (string, lineKind) {
		wasFirst := first
		first = false
		switch {
		case wasFirst && strings.TrimSpace(l) == "---":
			inFront = true
			return "", lineDrop
		case inFront:
			inFront = strings.TrimSpace(l) != "---" && strings.TrimSpace(l) != "..."
			return "", lineDrop
		case mdFence.MatchString(l):
			inFence = !inFence
			return "", lineKeep // a fence starts or ends a paragraph
		case inFence:
			return l, lineKeep
		case mdHeading.MatchString(l):
			return mdHeadClose.ReplaceAllString(mdHeading.ReplaceAllString(l, ""), ""), lineBlock
		case mdRule.MatchString(l), mdRefDef.MatchString(l), mdTableSep.MatchString(l):
			return "", lineDrop
		}
		l = mdQuote.ReplaceAllString(l, "")
		l = mdBullet.ReplaceAllString(l, "$1- ")
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "|") && strings.HasSuffix(t, "|") && len(t) > 1 {
			l = strings.TrimSpace(t[1 : len(t)-1])
		}
		return l, lineKeep
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
