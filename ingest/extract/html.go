package extract

import (
	"errors"
	"io"
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlSkip are the elements whose content is not document text.
var htmlSkip = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Nav: true, atom.Header: true, atom.Footer: true,
	atom.Noscript: true, atom.Template: true, atom.Svg: true, atom.Iframe: true, atom.Select: true,
	atom.Button: true, atom.Object: true, atom.Canvas: true, atom.Meta: true, atom.Link: true,
}

// htmlBlock are the elements that start and end a paragraph.
var htmlBlock = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Li: true, atom.Ul: true, atom.Ol: true, atom.Table: true,
	atom.Tr: true, atom.Blockquote: true, atom.Pre: true, atom.Section: true, atom.Article: true,
	atom.Main: true, atom.Aside: true, atom.Dd: true, atom.Dt: true, atom.Dl: true, atom.Figure: true,
	atom.Figcaption: true, atom.Hr: true, atom.Address: true, atom.Details: true, atom.Summary: true,
	atom.Form: true, atom.Title: true, atom.Body: true, atom.Caption: true, atom.Fieldset: true,
	atom.Legend: true, atom.Center: true,
}

// htmlHeadings are the heading elements and their levels.
var htmlHeadings = map[atom.Atom]int{atom.H1: 1, atom.H2: 2, atom.H3: 3, atom.H4: 4, atom.H5: 5, atom.H6: 6}

// htmlMaxToken bounds one token (a text run or a tag) in memory.
const htmlMaxToken = 16 << 20

// parseHTML keeps an HTML document's visible text as blank-line separated
// blocks (headings, paragraphs, list items, table rows), drops scripts,
// styles, navigation, headers and footers, and decodes entities. The
// document's title is its <title>, else its first <h1>; h1 to h6 are its
// headings.
func parseHTML(j *job) error {
	r, err := j.textReader()
	if err != nil {
		return err
	}
	b := &blocks{j: j}
	z := html.NewTokenizer(r)
	z.SetMaxBuf(htmlMaxToken)
	var cur strings.Builder
	skip, pre := 0, 0
	var skipStack []atom.Atom
	flush := func() error {
		err := b.add(cur.String())
		cur.Reset()
		return err
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); !errors.Is(err, io.EOF) {
				if errors.Is(err, html.ErrBufferExceeded) {
					return corrupt(HTML, err, "one element is longer than %d bytes", htmlMaxToken)
				}
				return err
			}
			if err := flush(); err != nil {
				return err
			}
			return b.flush()
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			if hasAttr && tt == html.StartTagToken && skip == 0 && hiddenRole(z) {
				skip++
				skipStack = append(skipStack, a)
				continue
			}
			if tt == html.EndTagToken {
				if skip > 0 {
					if a == skipStack[len(skipStack)-1] {
						skipStack = skipStack[:len(skipStack)-1]
						skip--
					}
					continue
				}
			} else if htmlSkip[a] {
				if tt == html.StartTagToken && a != atom.Meta && a != atom.Link {
					skip++
					skipStack = append(skipStack, a)
				}
				continue
			}
			if skip > 0 {
				continue
			}
			switch {
			case a == atom.Br:
				cur.WriteByte('\n')
			case a == atom.Td || a == atom.Th:
				if tt != html.EndTagToken && cur.Len() > 0 {
					cur.WriteString(" | ")
				}
			case htmlBlock[a]:
				if strings.TrimSpace(cur.String()) == "-" {
					break // a list item's first block keeps its bullet
				}
				var err error
				switch level := htmlHeadings[a]; {
				case level > 0 && tt == html.EndTagToken:
					err = b.heading(level, cur.String())
					cur.Reset()
				case a == atom.Title && tt == html.EndTagToken:
					b.setTitle(cur.String())
					err = flush()
				default:
					err = flush()
				}
				if err != nil {
					return err
				}
				switch {
				case a == atom.Pre && tt == html.StartTagToken:
					pre++
				case a == atom.Pre && tt == html.EndTagToken && pre > 0:
					pre--
				}
				if a == atom.Li && tt == html.StartTagToken {
					cur.WriteString("- ")
				}
			}
		case html.TextToken:
			if skip > 0 {
				continue
			}
			t := string(z.Text())
			if pre == 0 {
				t = collapseSpace(t)
				if cur.Len() == 0 || strings.HasSuffix(cur.String(), "\n") || strings.HasSuffix(cur.String(), " ") {
					t = strings.TrimLeft(t, " ")
				}
			}
			cur.WriteString(t)
			if cur.Len() >= j.lim.MaxSegment {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
}

// collapseSpace turns every run of white space into one space.
func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// hiddenRoles are the ARIA roles of navigation, site headers and footers.
var hiddenRoles = map[string]bool{"navigation": true, "banner": true, "contentinfo": true, "search": true}

// hiddenRole reports whether the current start tag has one of hiddenRoles.
func hiddenRole(z *html.Tokenizer) bool {
	for {
		k, v, more := z.TagAttr()
		if string(k) == "role" && hiddenRoles[strings.ToLower(string(v))] {
			return true
		}
		if !more {
			return false
		}
	}
}
