// Package eval measures ragd's retrieval quality on labelled data that
// nobody on the project wrote: the question/answer pairs of the Python FAQ
// (see shared/eval/README.md). It builds the set, runs it against a live
// ragd through the HTTP API in every search mode and with every embedding
// model, scores a BM25 baseline in the same run, and prints the table.
package eval

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ragd/ragd"
)

// Pair is one labelled example: a question and its own answer.
type Pair struct {
	Question string
	Answer   string
	// Source is the file the pair came from, e.g. "faq/general.rst.txt".
	Source string
}

// minAnswerChars is the shortest answer body kept (shared/eval/README.md).
const minAnswerChars = 40

// ParseFAQ extracts the question/answer pairs of one reStructuredText
// document: every section heading whose title ends with "?" is a question,
// and the text up to the next heading of any level is its answer. Answers
// of 40 characters or fewer are dropped. source is recorded in each pair.
func ParseFAQ(text, source string) []Pair {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	type heading struct{ title, start, end int } // title line; first line of the heading; first line after it
	var hs []heading
	for i := 0; i+1 < len(lines); i++ {
		title := strings.TrimSpace(lines[i])
		if title == "" || isAdornment(lines[i]) || !isAdornment(lines[i+1]) || len(strings.TrimSpace(lines[i+1])) < len([]rune(title)) {
			continue
		}
		h := heading{title: i, start: i, end: i + 2}
		if i > 0 && isAdornment(lines[i-1]) {
			h.start = i - 1 // over- and underlined title
		}
		hs = append(hs, h)
		i++
	}
	var pairs []Pair
	for k, h := range hs {
		q := strings.TrimSpace(lines[h.title])
		if !strings.HasSuffix(q, "?") {
			continue
		}
		stop := len(lines)
		if k+1 < len(hs) {
			stop = hs[k+1].start
		}
		body := strings.TrimSpace(strings.Join(lines[h.end:stop], "\n"))
		if len(body) > minAnswerChars {
			pairs = append(pairs, Pair{Question: q, Answer: body, Source: source})
		}
	}
	return pairs
}

// isAdornment reports whether line is a section adornment: one repeated
// punctuation character, at least two of them, starting at column 0.
func isAdornment(line string) bool {
	line = strings.TrimRight(line, " \t")
	if len(line) < 2 {
		return false
	}
	c := line[0]
	if !strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", rune(c)) {
		return false
	}
	return strings.Count(line, string(c)) == len(line)
}

// Dedupe drops every pair whose question and answer both already occurred
// earlier. A question asked twice with different answers is kept twice:
// each occurrence retrieves its own answer. (The FAQ asks "What is
// Python?" in general.rst and in installed.rst; keeping both gives the 173
// pairs and the BM25 baseline of shared/eval/README.md.)
func Dedupe(pairs []Pair) []Pair {
	type key struct{ q, a string }
	seen := make(map[key]bool, len(pairs))
	out := pairs[:0:0]
	for _, p := range pairs {
		if k := (key{p.Question, p.Answer}); !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out
}

// faqDir is where python3.11-doc installs the FAQ sources.
const faqDir = "usr/share/doc/python3.11/html/_sources/faq"

// LoadPythonFAQ returns the Python FAQ set. The first call downloads
// Debian's python3.11-doc package with apt-get into cacheDir and unpacks
// it there; later calls reuse the unpacked files. Files are read in name
// order, so the pair order is stable.
func LoadPythonFAQ(ctx context.Context, cacheDir string) ([]Pair, error) {
	return loadDocSet(ctx, cacheDir, "python3.11-doc", faqDir, "*.rst.txt", "faq/", func(text, source string) ([]Pair, error) {
		return ParseFAQ(text, source), nil
	})
}

// loadDocSet returns the deduplicated pairs that parse finds in the files
// matching pattern under sub of Debian package pkg (see docFiles), named
// prefix+file name.
func loadDocSet(ctx context.Context, cacheDir, pkg, sub, pattern, prefix string, parse func(text, source string) ([]Pair, error)) ([]Pair, error) {
	files, err := docFiles(ctx, cacheDir, pkg, sub, pattern)
	if err != nil {
		return nil, err
	}
	var pairs []Pair
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ps, err := parse(string(b), prefix+filepath.Base(f))
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, ps...)
	}
	return Dedupe(pairs), nil
}

// docFiles returns the files matching pattern under sub of Debian package
// pkg, in name order; pkg is fetched into cacheDir/pkg first unless it is
// unpacked there already.
func docFiles(ctx context.Context, cacheDir, pkg, sub, pattern string) ([]string, error) {
	dir := filepath.Join(cacheDir, pkg)
	if _, err := os.Stat(filepath.Join(dir, sub)); err != nil {
		if err := fetchDocPackage(ctx, pkg, cacheDir, dir); err != nil {
			return nil, err
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, sub, pattern))
	if err != nil || len(files) == 0 {
		return nil, ragd.Errorf(ragd.ENOTFOUND, "no %s files under %s", pattern, filepath.Join(dir, sub))
	}
	sort.Strings(files)
	return files, nil
}

// fetchDocPackage runs apt-get download pkg in cacheDir (unless its .deb
// is there already) and unpacks the .deb into dir.
func fetchDocPackage(ctx context.Context, pkg, cacheDir, dir string) error {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return err
	}
	debs, _ := filepath.Glob(filepath.Join(cacheDir, pkg+"_*.deb"))
	if len(debs) == 0 {
		cmd := exec.CommandContext(ctx, "apt-get", "download", pkg)
		cmd.Dir = cacheDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return &ragd.Error{Kind: ragd.EUNAVAILABLE, Message: fmt.Sprintf("apt-get download %s failed (run apt-get update first?): %s", pkg, strings.TrimSpace(string(out))), Err: err}
		}
		debs, _ = filepath.Glob(filepath.Join(cacheDir, pkg+"_*.deb"))
		if len(debs) == 0 {
			return ragd.Errorf(ragd.ENOTFOUND, "apt-get download left no %s .deb in %s", pkg, cacheDir)
		}
	}
	if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", debs[0], dir).CombinedOutput(); err != nil {
		return &ragd.Error{Kind: ragd.EINTERNAL, Message: fmt.Sprintf("dpkg-deb -x %s: %s", debs[0], strings.TrimSpace(string(out))), Err: err}
	}
	return nil
}
