// Package scopedfts lets one FTS5 table hold the keyword index of every
// collection while each collection is searched and ranked as if it had a
// table of its own.
//
// A table per collection made SQLite's schema grow by a dozen rows a
// collection, and SQLite re-reads the whole schema on every connection
// after any change, in quadratic time (docs/benchmarks.md, "Many
// collections"). One shared table needs two things FTS5 lacks:
//
//   - Terms of one collection apart from another's, so a term's doclist
//     holds only the searched collection's rows and its document
//     frequency is the collection's. The tokenizer "scoped" reads a marker
//     at the start of every text, the collection's seq and 0x1f
//     (Text), tokenizes the rest as before (porter over unicode61,
//     diacritics removed) and writes each token as "<seq>:<token>". Query
//     phrases carry the same marker (Phrase).
//   - BM25 with the collection's row count and average length, not the
//     table's: bm25_scoped(table, rows, tokens) is FTS5's bm25() given
//     those two numbers, which the store keeps per collection, with
//     fts_doclen(sz) to read a row's token count from the table's
//     %_docsize.
//
// fts_terms(text, scope) gives the tokens of a text as the table indexes
// them, for a keyword index kept beside FTS5 (Terms).
//
// Register installs all four on every connection opened after it, the
// way sqlite-vec's bindings install vec0.
package scopedfts

// #cgo linux LDFLAGS: -lm
// #include "scopedfts.h"
import "C"

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Tokenizer is the tokenizer's name in an FTS5 table's tokenize option.
const Tokenizer = C.SCOPEDFTS_TOKENIZER

// separator ends the scope marker.
const separator = "\x1f"

var once sync.Once

// Register makes every SQLite connection opened from now on know the
// scoped tokenizer, bm25_scoped, fts_doclen and fts_terms. It is safe to call more
// than once.
func Register() {
	once.Do(func() {
		C.sqlite3_auto_extension((*[0]byte)(C.scopedfts_init))
	})
}

// Text returns the SQL expression indexing the text expression expr under
// the collection whose seq is the expression seq.
func Text(seq, expr string) string {
	return seq + ` || char(31) || ` + expr
}

// Phrase returns an FTS5 query phrase matching words of text (tokenized
// like indexed text, so one word may give several tokens in a row) in
// collection seq.
func Phrase(seq int64, text string) string {
	return `"` + strconv.FormatInt(seq, 10) + separator + strings.ReplaceAll(text, `"`, `""`) + `"`
}

// IDF is bm25's IDF, computed by the same C code as bm25_scoped, of a
// term found in hits of rows rows: the keyword cache's scores then equal
// FTS5's to the bit.
func IDF(rows, hits int64) float64 {
	return float64(C.scopedfts_idf(C.sqlite3_int64(rows), C.sqlite3_int64(hits)))
}

// Tokenized returns the start of the text of a row of collection seq
// given as its terms, tokenized before (DocumentTermsBatch): "<seq>\x1e",
// then the terms. The tokenizer gives them as they are, so a bulk write
// tokenizes its rows beside the writer rather than in its transaction.
func Tokenized(seq int64) string {
	return strconv.FormatInt(seq, 10) + "\x1e"
}

// DocumentTermsBatch returns the SQL expression of the terms of each text
// of the blob expression expr (AppendText), for a row's text after
// Tokenized, in one call: fts_terms_batch, fts_terms without a scope, so
// uncut, as FTS5 cuts a scoped token itself when it indexes it.
// SplitTerms reads its result.
func DocumentTermsBatch(expr string) string {
	return `fts_terms_batch(` + expr + `)`
}

// AppendText appends a text, the concatenation of parts, to b, a batch
// for DocumentTermsBatch: its length as a little-endian uint32, then its
// bytes. The text must be shorter than 4 GiB, as every one a request
// can bring is.
func AppendText(b []byte, parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// SplitTerms returns the terms of each text of DocumentTermsBatch's result
// b, slices of b, and fails unless it holds n texts' terms.
func SplitTerms(b []byte, n int) ([][]byte, error) {
	terms := make([][]byte, 0, n)
	for len(b) > 0 {
		if len(b) < 4 || int64(binary.LittleEndian.Uint32(b)) > int64(len(b)-4) {
			return nil, fmt.Errorf("scopedfts: terms of a batch malformed after %d texts", len(terms))
		}
		end := 4 + int(binary.LittleEndian.Uint32(b))
		terms, b = append(terms, b[4:end:end]), b[end:]
	}
	if len(terms) != n {
		return nil, fmt.Errorf("scopedfts: terms of %d texts, want %d", len(terms), n)
	}
	return terms, nil
}

// Terms returns the SQL expression of the tokens indexed for the text
// expression expr in collection seq, without their scope prefix, each
// ended by a zero byte, in order: fts_terms, the scoped tokenizer's own
// tokenizing, including FTS5's cut of a token at 32 KiB.
func Terms(seq int64, expr string) string {
	return `fts_terms(` + expr + `, ` + strconv.Itoa(len(strconv.FormatInt(seq, 10))+1) + `)`
}
