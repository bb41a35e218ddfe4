// Package extract turns an uploaded file into text for the ingest pipeline.
//
// Extract reads a file already on disk and streams its text to a Sink, in
// document order, without holding the whole text in memory: one-document
// formats (plain text, Markdown, HTML, PDF, DOCX, JSON that is not an array
// of objects) arrive as Segments carrying their page number, and
// one-item-per-row formats (CSV, JSON Lines, a JSON array of objects) arrive
// as Records whose columns or fields are kept as metadata.
//
// Every failure is a *ragd.Error: EUNSUPPORTED for a type ragd cannot read
// (its message lists the supported types) and EUNPROCESSABLE for an empty,
// corrupt, oversized or too slow file, with a specific Code such as
// "empty_file", "corrupt_pdf" or "extract_timeout". No input crashes the
// process: parser panics are recovered, and each file's extraction is bounded
// in time and memory by Limits.
package extract

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/ragd/ragd"
)

// Segment is a piece of a one-document format's text.
type Segment struct {
	// Text is non-empty; paragraphs inside it are separated by blank lines.
	Text string
	// Page is the 1-based page the text is on, or 0 when the format has no pages.
	Page int
	// Section is where the text is in the document's structure, so that a
	// passage can be found by the headings above it: the document's title
	// and the headings in effect, outermost first, joined by
	// SectionSeparator ("Title > Installation > On Windows"). It is empty
	// for formats whose headings are not read (PDF, records) and for
	// text before the first heading of a document without a title. A
	// heading starts a new Segment, so that each Segment lies in one section.
	Section string
}

// SectionSeparator joins the headings of a Segment's Section.
const SectionSeparator = " > "

// Record is one item of a one-item-per-row format: a CSV row, a JSON Lines
// line or an element of a top-level JSON array of objects.
type Record struct {
	// Text is the record's text: its text column or field when there is one,
	// else every column rendered as "name: value" lines.
	Text string
	// Metadata holds the record's columns or fields other than the text one.
	// CSV values are int64, float64, bool or string; JSON values keep their
	// decoded JSON types (float64, string, bool, nil, []any, map[string]any).
	Metadata map[string]any
	// Line is the 1-based line (CSV, JSON Lines) or element index (JSON) the
	// record came from.
	Line int
}

// Sink receives extracted text. Extract calls it from one goroutine at a
// time and never after Extract has returned. An error returned by a Sink
// method stops the extraction, and Extract returns that error unchanged.
type Sink interface {
	// Segment receives the next piece of a one-document format.
	Segment(Segment) error
	// Record receives the next record of a one-item-per-row format.
	Record(Record) error
}

// Collector is a Sink that keeps everything in memory, for tests and small files.
type Collector struct {
	Segments []Segment
	Records  []Record
}

// Segment appends s.
func (c *Collector) Segment(s Segment) error { c.Segments = append(c.Segments, s); return nil }

// Record appends r.
func (c *Collector) Record(r Record) error { c.Records = append(c.Records, r); return nil }

// Source names the file to extract and what the client said about it.
type Source struct {
	// Path is the file on disk.
	Path string
	// Filename is the client's file name; only its extension is used.
	Filename string
	// ContentType is the client's Content-Type, possibly empty or wrong.
	ContentType string
}

// Options tune an extraction; the zero value is usable.
type Options struct {
	// TextField names the CSV column or JSON field holding a record's text.
	// Empty means the first of "text", "content", "body" present (any case),
	// else every column rendered as "name: value".
	TextField string
	// Limits bounds the work spent on one file; zero fields take the defaults.
	Limits Limits
}

// Limits bound the time and memory spent on one file. Zero fields mean the
// value of DefaultLimits.
type Limits struct {
	// Timeout bounds one file's extraction; past it Extract returns an
	// EUNPROCESSABLE error with code "extract_timeout".
	Timeout time.Duration
	// MaxText bounds the bytes of text one file may yield
	// ("too_large_after_extraction").
	MaxText int64
	// MaxExpansion bounds the text one file may yield relative to its
	// size: at most MaxExpansion bytes of text per byte of file, plus
	// expansionAllowance ("too_large_after_extraction"). A small file
	// that expands to hundreds of megabytes of text (a compressed PDF or
	// DOCX) would otherwise hold a worker for many minutes of chunking
	// and embedding; real documents yield about as much text as their
	// size or less, and a CSV rendered as "column: value" lines a few
	// times its size.
	MaxExpansion int64
	// MaxDecompressed bounds the bytes decompressed from one file: the sum of
	// a DOCX's entries, or one PDF content stream ("decompression_limit").
	MaxDecompressed int64
	// MaxZipEntries bounds the entries of a DOCX archive.
	MaxZipEntries int
	// MaxSegment is the size a Segment of a non-paged format grows to before
	// it is emitted; paragraphs are not split unless longer than this.
	MaxSegment int
}

// DefaultLimits are the limits used for zero fields of Limits.
var DefaultLimits = Limits{
	Timeout:         2 * time.Minute,
	MaxText:         32 << 20,
	MaxExpansion:    20,
	MaxDecompressed: 512 << 20,
	MaxZipEntries:   10000,
	MaxSegment:      64 << 10,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.Timeout > 0 {
		d.Timeout = l.Timeout
	}
	if l.MaxText > 0 {
		d.MaxText = l.MaxText
	}
	if l.MaxExpansion > 0 {
		d.MaxExpansion = l.MaxExpansion
	}
	if l.MaxDecompressed > 0 {
		d.MaxDecompressed = l.MaxDecompressed
	}
	if l.MaxZipEntries > 0 {
		d.MaxZipEntries = l.MaxZipEntries
	}
	if l.MaxSegment > 0 {
		d.MaxSegment = l.MaxSegment
	}
	return d
}

// Result summarises a finished extraction.
type Result struct {
	// Format is the detected format.
	Format Format
	// Pages is the page count of a paged format (PDF), else 0.
	Pages int
	// Segments and Records count what was sent to the Sink.
	Segments, Records int
	// TextBytes is the total length of the text sent to the Sink.
	TextBytes int64
}

// expansionAllowance is the text any file may yield beyond MaxExpansion
// times its size, so that small files are never refused for expanding.
const expansionAllowance = 1 << 20

// textLimit returns the most text a file of size bytes may yield, and
// whether that limit is MaxExpansion's rather than MaxText's.
func (l Limits) textLimit(size int64) (int64, bool) {
	if size >= (l.MaxText-expansionAllowance)/l.MaxExpansion {
		return l.MaxText, false
	}
	return l.MaxExpansion*size + expansionAllowance, true
}

// abandonGrace is how long Extract waits, after the deadline, for a parser
// to notice it and stop before abandoning it.
const abandonGrace = 2 * time.Second

// Extract detects src's format and streams its text to sink. It returns a
// *ragd.Error for an unsupported, empty, corrupt, oversized or too slow
// file, ctx.Err() when ctx is cancelled, and any error sink returns. After
// it returns, sink is never called again, even when a runaway parser had to
// be abandoned.
func Extract(ctx context.Context, src Source, opts Options, sink Sink) (*Result, error) {
	f, err := os.Open(src.Path)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	defer f.Close()
	format, err := detect(f, src.Filename, src.ContentType)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	lim := opts.Limits.withDefaults()
	fctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()

	g := &guardSink{sink: sink, size: st.Size(), res: &Result{Format: format}}
	if limit, relative := lim.textLimit(st.Size()); relative {
		g.limit, g.expansion = limit, lim.MaxExpansion
	} else {
		g.limit = limit
	}
	job := &job{ctx: fctx, f: f, src: src, format: format, opts: opts, lim: lim, sink: g, res: g.res}
	done := make(chan error, 1)
	go func() { done <- job.run(format) }()

	var runErr error
	select {
	case runErr = <-done:
	case <-fctx.Done():
		select {
		case runErr = <-done:
		case <-time.After(abandonGrace):
			runErr = fctx.Err()
		}
	}
	g.close()
	if runErr == nil {
		return g.res, nil
	}
	if ctx.Err() != nil && errors.Is(runErr, ctx.Err()) {
		return nil, ctx.Err()
	}
	if errors.Is(runErr, context.DeadlineExceeded) {
		return nil, &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "extract_timeout",
			Message: fmt.Sprintf("extracting text from this %s file took longer than %s", format.Name(), lim.Timeout), Err: runErr}
	}
	return nil, runErr
}

// job is one running extraction.
type job struct {
	ctx    context.Context
	f      *os.File
	src    Source
	format Format
	opts   Options
	lim    Limits
	sink   *guardSink
	res    *Result
}

// run calls the format's parser, turning a panic into an EUNPROCESSABLE error.
func (j *job) run(format Format) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if a, ok := r.(abort); ok {
				err = a.err
				return
			}
			err = &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "corrupt_" + string(format),
				Message: fmt.Sprintf("this %s file is corrupt: its parser failed (%v)", format.Name(), r),
				Err:     fmt.Errorf("panic: %v\n%s", r, debug.Stack())}
		}
	}()
	if _, err := j.f.Seek(0, 0); err != nil {
		return err
	}
	return parsers[format](j)
}

// parsers holds each format's parser.
var parsers = map[Format]func(*job) error{
	Text: parseText, Markdown: parseMarkdown, HTML: parseHTML, PDF: parsePDF,
	DOCX: parseDOCX, CSV: parseCSV, JSONL: parseJSONL, JSON: parseJSON,
}

// abort is panicked by guards deep inside a parser (a PDF's file reads) to
// unwind it at once; run turns it back into err.
type abort struct{ err error }

// Error makes an abort that a library's own recover turned into an error
// recognisable with errors.As.
func (a abort) Error() string { return a.err.Error() }

// check panics with abort when the job's context is done.
func (j *job) check() {
	if err := j.ctx.Err(); err != nil {
		panic(abort{err})
	}
}

// guardSink forwards to the caller's Sink while counting output, enforcing
// MaxText, and refusing every call once Extract has returned.
type guardSink struct {
	mu        sync.Mutex
	sink      Sink
	closed    bool
	size      int64 // of the file
	limit     int64
	expansion int64 // when limit is relative to size: MaxExpansion
	res       *Result
}

var errAbandoned = errors.New("extract: extraction abandoned")

func (g *guardSink) admit(text string) error {
	if g.closed {
		return errAbandoned
	}
	g.res.TextBytes += int64(len(text))
	if g.res.TextBytes <= g.limit {
		return nil
	}
	e := &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "too_large_after_extraction",
		Message: fmt.Sprintf("this file holds more than %d bytes of text, the server's limit for one file; split it into smaller files", g.limit)}
	if g.expansion > 0 {
		e.Message = fmt.Sprintf("this %d-byte file expands to more than %d bytes of text, the server's limit for a file of its size "+
			"(%d bytes of text per byte of file, plus %d); split it into smaller files", g.size, g.limit, g.expansion, expansionAllowance)
	}
	return e
}

// Segment forwards s unless it is empty.
func (g *guardSink) Segment(s Segment) error {
	if s.Text == "" {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.admit(s.Text); err != nil {
		return err
	}
	g.res.Segments++
	return g.sink.Segment(s)
}

// Record forwards r.
func (g *guardSink) Record(r Record) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.admit(r.Text); err != nil {
		return err
	}
	g.res.Records++
	return g.sink.Record(r)
}

func (g *guardSink) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// corrupt returns the EUNPROCESSABLE error for a damaged file of format f.
func corrupt(f Format, err error, format string, args ...any) error {
	return &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "corrupt_" + string(f),
		Message: fmt.Sprintf("this %s file is corrupt: %s", f.Name(), fmt.Sprintf(format, args...)), Err: err}
}

// tooLarge returns the error for a file whose decompressed content passes MaxDecompressed.
func tooLarge(f Format, limit int64) error {
	return &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "decompression_limit",
		Message: fmt.Sprintf("this %s file decompresses to more than %d bytes, the limit for one file", f.Name(), limit)}
}
