package ingest

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ragd/ragd/ingest/extract"
)

// A spool holds a file's extracted text on disk between extraction and
// chunking, so that a file's extraction time limit bounds only its parser
// (not a slow embedder behind it) and memory stays bounded whatever the
// file's size. Entries are framed as: a kind byte ('S' segment, 'R'
// record), a uvarint page (segments) or line (records), a uvarint length
// and the text, then for segments a uvarint length and the section, for
// records a uvarint length and the metadata as JSON.
type spoolWriter struct {
	f *os.File
	w *bufio.Writer
	n [binary.MaxVarintLen64]byte
}

func createSpool(path string) (*spoolWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	return &spoolWriter{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

func (s *spoolWriter) uvarint(v int) error {
	_, err := s.w.Write(s.n[:binary.PutUvarint(s.n[:], uint64(v))])
	return err
}

func (s *spoolWriter) bytes(b string) error {
	if err := s.uvarint(len(b)); err != nil {
		return err
	}
	_, err := s.w.WriteString(b)
	return err
}

// Segment implements extract.Sink.
func (s *spoolWriter) Segment(seg extract.Segment) error {
	if err := s.w.WriteByte('S'); err != nil {
		return err
	}
	if err := s.uvarint(seg.Page); err != nil {
		return err
	}
	if err := s.bytes(seg.Text); err != nil {
		return err
	}
	return s.bytes(seg.Section)
}

// Record implements extract.Sink.
func (s *spoolWriter) Record(r extract.Record) error {
	meta, err := json.Marshal(r.Metadata)
	if err != nil {
		return fmt.Errorf("spool: record metadata: %w", err)
	}
	if err := s.w.WriteByte('R'); err != nil {
		return err
	}
	if err := s.uvarint(r.Line); err != nil {
		return err
	}
	if err := s.bytes(r.Text); err != nil {
		return err
	}
	return s.bytes(string(meta))
}

// reader flushes what was written and returns a reader of the spool from
// its start.
func (s *spoolWriter) reader() (*spoolReader, error) {
	if err := s.w.Flush(); err != nil {
		return nil, err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return &spoolReader{r: bufio.NewReaderSize(s.f, 256<<10)}, nil
}

// remove closes and deletes the spool file.
func (s *spoolWriter) remove() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// spoolEntry is one entry read back: a segment or a record.
type spoolEntry struct {
	record bool
	seg    extract.Segment
	rec    extract.Record
}

type spoolReader struct {
	r   *bufio.Reader
	buf []byte
}

func (s *spoolReader) text() (string, error) {
	n, err := binary.ReadUvarint(s.r)
	if err != nil {
		return "", err
	}
	if uint64(cap(s.buf)) < n {
		s.buf = make([]byte, n)
	}
	b := s.buf[:n]
	if _, err := io.ReadFull(s.r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// next returns the next entry, or io.EOF after the last.
func (s *spoolReader) next() (spoolEntry, error) {
	var e spoolEntry
	kind, err := s.r.ReadByte()
	if err != nil {
		return e, err
	}
	num, err := binary.ReadUvarint(s.r)
	if err != nil {
		return e, unexpected(err)
	}
	text, err := s.text()
	if err != nil {
		return e, unexpected(err)
	}
	switch kind {
	case 'S':
		section, err := s.text()
		if err != nil {
			return e, unexpected(err)
		}
		e.seg = extract.Segment{Text: text, Page: int(num), Section: section}
	case 'R':
		meta, err := s.text()
		if err != nil {
			return e, unexpected(err)
		}
		e.record = true
		e.rec = extract.Record{Text: text, Line: int(num)}
		if err := json.Unmarshal([]byte(meta), &e.rec.Metadata); err != nil {
			return e, fmt.Errorf("spool: record metadata: %w", err)
		}
	default:
		return e, fmt.Errorf("spool: bad entry kind %q", kind)
	}
	return e, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
