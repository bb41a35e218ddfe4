package service

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unsafe"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/internal/par"
)

// Vectors a client brings (issue 13): items and searches may carry their
// own vector instead of having ragd embed their text. A collection
// created with embedding_model "none" stores only such vectors.

// Vector is a vector as a client sends it: a JSON array of numbers, read
// as float64 (a number beyond float64's range as an infinity, an element
// that is not a number as NaN, which JSON cannot write), so that unit,
// which knows the field's full name ("items[3].vector"), refuses it by
// its index rather than the decoder failing the whole body.
type Vector []float64

// UnmarshalJSON reads a JSON array, a base64 string (decodeBase64), or
// null (no vector). It reads a batch of a thousand 384-dimension vectors,
// 8 MB of JSON, in a fraction of the time a slice of json.Number took,
// one string each.
func (v *Vector) UnmarshalJSON(b []byte) error {
	b = trimJSONSpace(b)
	if string(b) == "null" {
		*v = nil
		return nil
	}
	if len(b) >= 2 && b[0] == '"' {
		return v.decodeBase64(b)
	}
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return errNotVector()
	}
	if got, n, ok := ParseVector(b); ok && n == len(b) {
		*v = got
		return nil
	}
	// Not an array of numbers alone: read it element by element, for
	// unit to name the first that is not a number.
	out := make(Vector, 0, bytes.Count(b, []byte{','})+1)
	rest := trimJSONSpace(b[1 : len(b)-1])
	for len(rest) > 0 {
		end := bytes.IndexByte(rest, ',')
		if end < 0 {
			end = len(rest)
		}
		// An element holding a comma (a string, an array) is split in
		// two here; unit reports its first part.
		f, ok := parseJSONNumber(trimJSONSpace(rest[:end]))
		if !ok {
			f = math.NaN()
		}
		out = append(out, f)
		if end == len(rest) {
			break
		}
		if rest = trimJSONSpace(rest[end+1:]); len(rest) == 0 {
			return errNotVector() // a trailing comma
		}
	}
	*v = out
	return nil
}

// ParseVector reads the JSON array of numbers b starts with (after any
// whitespace) in one pass, and returns it with the bytes it took: a
// decoder of a batch's body reads its vectors in place with it rather
// than finding each one's end first. ok is false where b does not start
// with such an array (an element that is not a number, a missing
// bracket): UnmarshalJSON then reads it element by element, to name what
// is wrong.
func ParseVector(b []byte) (v Vector, n int, ok bool) {
	i := skipJSONSpace(b, 0)
	if i == len(b) || b[i] != '[' {
		return nil, 0, false
	}
	if i = skipJSONSpace(b, i+1); i < len(b) && b[i] == ']' {
		return Vector{}, i + 1, true
	}
	var buf [512]float64 // on the stack: the vector is copied out at its size
	out := buf[:0]
	for {
		f, n, ok := scanJSONNumber(b[i:])
		if !ok {
			return nil, 0, false
		}
		out = append(out, f)
		if i = skipJSONSpace(b, i+n); i == len(b) {
			return nil, 0, false
		}
		switch b[i] {
		case ',':
			i = skipJSONSpace(b, i+1)
		case ']':
			return Vector(slices.Clone(out)), i + 1, true
		default:
			return nil, 0, false
		}
	}
}

// skipJSONSpace returns the index of the first byte of b from i on that
// is not JSON whitespace, or len(b).
func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && jsonSpace(b[i]) {
		i++
	}
	return i
}

// errNotVector is the error of a vector that is neither form, made only
// when one is refused: every vector of a batch passes here.
func errNotVector() error {
	return ragd.Invalid("vector", "vector must be an array of numbers, or a base64 string of little-endian float32s")
}

// decodeBase64 reads b, a JSON string, as a vector in the format of
// OpenAI's embeddings with encoding_format "base64" (which /v1/embeddings
// writes too): the base64 of its float32s, little-endian. Such output is
// fed back unchanged, and a bulk load sends 2 KB a vector of 384 instead
// of 4-8 KB of decimals, read in less than half the time
// (BenchmarkVectorUnmarshalJSON: 3.4 against 8.4 us).
// A float32 that is not finite reads as itself, for unit to refuse by its
// index.
func (v *Vector) decodeBase64(b []byte) error {
	// base64 needs no escapes: read the bytes between the quotes when
	// they are plain (no escape, quote or control byte), and any other
	// string as JSON reads it (encoding/json's scan took most of the
	// time).
	var text []byte
	if inner := b[1 : len(b)-1]; b[len(b)-1] == '"' && !slices.ContainsFunc(inner, func(c byte) bool { return c < 0x20 || c == '"' || c == '\\' }) {
		text = inner
	} else {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return ragd.Invalid("vector", "vector is not a valid JSON string: %v", err)
		}
		text = []byte(s)
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(raw, text)
	raw = raw[:n]
	if err != nil {
		return ragd.Invalid("vector", "vector is a string but not standard base64 (%v); send an array of numbers or the base64 of little-endian float32s", err)
	}
	if len(raw)%4 != 0 {
		return ragd.Invalid("vector", "vector's base64 decodes to %d bytes, not a whole number of float32s (4 bytes each)", len(raw))
	}
	out := make(Vector, len(raw)/4)
	for i := range out {
		out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
	}
	*v = out
	return nil
}

// trimJSONSpace trims the whitespace JSON allows around a value (space,
// tab, line feed, carriage return: not bytes.TrimSpace's form feed). It
// runs three times a number, so it tests bytes itself: bytes.Trim built
// its set of bytes on every call, a seventh of the decode.
func trimJSONSpace(b []byte) []byte {
	for len(b) > 0 && jsonSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && jsonSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func jsonSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// btoi is 1 for true.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pow10 holds the powers of ten float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseJSONNumber reads b if it is a number as JSON writes it,
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, which strconv.ParseFloat
// alone would widen to "+1", ".5", "Inf" and hexadecimal.
func parseJSONNumber(b []byte) (float64, bool) {
	f, n, ok := scanJSONNumber(b)
	return f, ok && n == len(b)
}

// scanJSONNumber reads the longest JSON number b starts with and returns
// it with its length (ok false when b does not start with one). A
// magnitude beyond float64's reads as an infinity. As in ParseFloat, an
// exponent past 10000 counts as 10000.
//
// The numbers of a vector have few digits (a float32 prints in at most
// nine), so most take Clinger's exact path: a mantissa below 2^53 times
// or divided by a power of ten up to 1e22, both exact, gives the correctly
// rounded result in one operation, what ParseFloat returns, in a quarter
// of its time; the others go to ParseFloat.
func scanJSONNumber(b []byte) (float64, int, bool) {
	i := 0
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	// The digits read into mant, leading zeros of the fraction
	// included (past 15, which they make rare, ParseFloat reads b and
	// mant's overflow does not matter); the power of ten to scale it by.
	var mant uint64
	digits, exp := 0, 0
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			mant = mant*10 + uint64(b[i]-'0')
		}
		digits = i - btoi(neg)
	default:
		return 0, 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := i + 1
		for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
			mant = mant*10 + uint64(b[j]-'0')
		}
		if j == i+1 {
			return 0, 0, false
		}
		digits, exp, i = digits+j-i-1, exp-(j-i-1), j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := i < len(b) && b[i] == '-'
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j, e := i, 0
		for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
			if e < 10000 {
				e = e*10 + int(b[j]-'0')
			}
		}
		if j == i {
			return 0, 0, false
		}
		if eneg {
			e = -e
		}
		exp, i = exp+e, j
	}
	if digits <= 15 && exp >= -22 && exp <= 22 { // mant < 10^15 < 2^53
		f := float64(mant)
		if exp < 0 {
			f /= pow10[-exp]
		} else {
			f *= pow10[exp]
		}
		if neg {
			f = -f
		}
		return f, i, true
	}
	// The grammar held up to i, so only a magnitude beyond float64's errs
	// (ErrRange), as an infinity. The string shares b's bytes: ParseFloat
	// keeps it only in its error, dropped here.
	f, _ := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), i), 64)
	return f, i, true
}

// unit returns v checked and scaled to unit length, as ragd stores
// vectors (so L2 distance orders like cosine similarity): every element a
// number (checked first: an element that is not one may have been read as
// two), finite, not all zero, and dims of them. A wrong length in a
// collection with an embedding model is EUNPROCESSABLE (the model fixes
// the length), otherwise EINVALID; param names the field.
func (v Vector) unit(param string, col *ragd.Collection) ([]float32, error) {
	if i := slices.IndexFunc(v, math.IsNaN); i >= 0 {
		return nil, ragd.Invalid(fmt.Sprintf("%s[%d]", param, i), "%s[%d] must be a number", param, i)
	}
	if len(v) != col.Dimensions {
		e := ragd.Invalid(param, "%s has %d numbers; collection %s stores vectors of %d dimensions", param, len(v), col.ID, col.Dimensions)
		if col.EmbeddingModel != ragd.NoEmbeddingModel {
			e.Kind, e.Code = ragd.EUNPROCESSABLE, "dimension_mismatch"
		}
		return nil, e
	}
	out := make([]float32, len(v))
	var norm float64
	for i, f := range v {
		if math.IsInf(float64(float32(f)), 0) {
			return nil, ragd.Invalid(fmt.Sprintf("%s[%d]", param, i), "%s[%d] must be a finite number within float32's range, got %g", param, i, f)
		}
		out[i] = float32(f)
		norm += f * f
	}
	if norm == 0 {
		return nil, ragd.Invalid(param, "%s is all zeros; it has no direction to compare", param)
	}
	scale := float32(1 / math.Sqrt(norm))
	for i := range out {
		out[i] *= scale
	}
	return out, nil
}

// withVector returns item ni as one chunk holding its whole content with
// vector v: a client's vector stands for the item as it is, so the item
// is not cut into chunks.
func withVector(ni ragd.NewItem, v []float32) ragd.NewItem {
	ni.Chunks = []ragd.Chunk{{Content: ni.Content, Tokens: CountTokens(ni.Content), End: len(ni.Content), Vector: v}}
	return ni
}

// withVectors gives each item with a vector (vectors[i] not nil) its
// vector as one chunk (withVector), on all cores for a large batch: a
// 60-word item's token count and its vector's scaling took about 10 us, a
// tenth of a batch insert through the HTTP API. The error is the one of
// the first item refused.
func withVectors(col *ragd.Collection, items []ragd.NewItem, vectors []Vector, params []string) error {
	errs := make([]error, len(items))
	par.Each(len(items), vectorsPerWorker, func() func(int) {
		return func(i int) {
			if vectors[i] == nil {
				return
			}
			v, err := vectors[i].unit(params[i]+"vector", col)
			if err != nil {
				errs[i] = err
				return
			}
			items[i] = withVector(items[i], v)
		}
	})
	return cmp.Or(errs...)
}

// vectorsPerWorker is the fewest items that get a worker of their own in
// withVectors.
const vectorsPerWorker = 64

// prepareItems gives each item its chunks and vectors: its own vector
// (vectors[i], when set) as one chunk, or chunks of its content embedded
// with the collection's model. It returns the tokens embedded.
func (s *Service) prepareItems(ctx context.Context, col *ragd.Collection, items []ragd.NewItem, vectors []Vector, params []string) ([]ragd.NewItem, int, error) {
	if err := withVectors(col, items, vectors, params); err != nil {
		return nil, 0, err
	}
	var embedded []ragd.NewItem
	var at []int
	for i := range items {
		if vectors[i] == nil {
			embedded, at = append(embedded, items[i]), append(at, i)
		}
	}
	if len(embedded) == 0 {
		return items, 0, nil
	}
	emb, err := s.embedders.ForCollection(col)
	if err != nil {
		if col.EmbeddingModel == ragd.NoEmbeddingModel {
			err = ragd.Invalid(params[at[0]]+"vector", "vector is required: collection %s has no embedding model", col.ID)
		}
		return nil, 0, err
	}
	embedded, tokens, err := ingest.PrepareItems(ctx, emb, col.Chunking, embedded)
	if err != nil {
		return nil, 0, err
	}
	for j, i := range at {
		items[i] = embedded[j]
	}
	return items, tokens, nil
}
