package eval

import (
	"context"
	"regexp"
	"strings"

	"golang.org/x/net/html"

	"github.com/ragd/ragd"
)

// sectionNumber is the "7.1. " that DocBook puts before a section title.
var sectionNumber = regexp.MustCompile(`^(\d+\.)+\d*\s+`)

// ParseDocBookFAQ extracts the question/answer pairs of one chunked
// DocBook HTML page (as in Debian's debian-faq package): every heading
// h1-h6 whose title, less its section number, ends with "?" is a
// question, and the text up to the next heading of any level is its
// answer. The navigation header and footer and tables of contents are not
// text of any section. Whitespace is collapsed within lines; answers of 40
// characters or fewer are dropped. source is recorded in each pair.
func ParseDocBookFAQ(page, source string) ([]Pair, error) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return nil, ragd.Errorf(ragd.EUNPROCESSABLE, "%s: %v", source, err)
	}
	var pairs []Pair
	var title string
	var body strings.Builder
	flush := func() {
		q := sectionNumber.ReplaceAllString(title, "")
		if a := tidy(body.String()); strings.HasSuffix(q, "?") && len(a) > minAnswerChars {
			pairs = append(pairs, Pair{Question: q, Answer: a, Source: source})
		}
		body.Reset()
	}
	walkDocBook(doc, &body, func(t string) {
		flush()
		title = t
	})
	flush()
	return pairs, nil
}

// walkDocBook writes the text of a DocBook page's sections to body in
// document order, ending a line after each block element and leaving out
// the navigation header and footer and tables of contents. At each
// heading h1-h6 it calls heading with the title, whitespace collapsed,
// instead of writing it.
func walkDocBook(n *html.Node, body *strings.Builder, heading func(title string)) {
	switch n.Type {
	case html.TextNode:
		body.WriteString(n.Data)
		return
	case html.ElementNode:
		switch n.Data {
		case "h1", "h2", "h3", "h4", "h5", "h6":
			heading(strings.Join(strings.Fields(textOf(n)), " "))
			return
		case "head", "script", "style":
			return
		case "div":
			if hasClass(n, "navheader", "navfooter", "toc") {
				return
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walkDocBook(c, body, heading)
	}
	if n.Type == html.ElementNode && blockElements[n.Data] {
		body.WriteString("\n")
	}
}

// DocBookText is the text of a DocBook page as walkDocBook sees it, each
// heading a line of its own, whitespace collapsed within lines.
func DocBookText(page string) (string, error) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return "", ragd.Errorf(ragd.EUNPROCESSABLE, "%v", err)
	}
	var body strings.Builder
	walkDocBook(doc, &body, func(title string) { body.WriteString("\n" + title + "\n") })
	return tidy(body.String()), nil
}

// blockElements end a line of the extracted text.
var blockElements = map[string]bool{"p": true, "div": true, "pre": true, "li": true, "dt": true, "dd": true, "tr": true, "br": true, "table": true}

// tidy collapses the spaces within each line of s and drops empty lines.
func tidy(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// textOf is the text content of n and its descendants.
func textOf(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(textOf(c))
	}
	return b.String()
}

// hasClass reports whether n's class attribute names any of classes.
func hasClass(n *html.Node, classes ...string) bool {
	for _, a := range n.Attr {
		if a.Key == "class" {
			for _, c := range strings.Fields(a.Val) {
				for _, want := range classes {
					if c == want {
						return true
					}
				}
			}
		}
	}
	return false
}

// debianFAQDir is where debian-faq installs its HTML pages.
const debianFAQDir = "usr/share/doc/debian/FAQ"

// LoadDebianFAQ returns the Debian FAQ set, a held-out set of the same
// kind as the Python FAQ: the pairs of every English HTML page of
// Debian's debian-faq package, fetched with apt-get into cacheDir on the
// first call like LoadPythonFAQ. Pages are read in name order.
func LoadDebianFAQ(ctx context.Context, cacheDir string) ([]Pair, error) {
	return loadDocSet(ctx, cacheDir, "debian-faq", debianFAQDir, "*.en.html", "FAQ/", ParseDocBookFAQ)
}
