package service

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
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

// UnmarshalJSON reads a JSON array, or null (no vector). It reads a batch
// of a thousand 384-dimension vectors, 8 MB of JSON, in a fraction of the
// time a slice of json.Number took, one string each.
func (v *Vector) UnmarshalJSON(b []byte) error {
	b = trimJSONSpace(b)
	if string(b) == "null" {
		*v = nil
		return nil
	}
	notArray := ragd.Invalid("vector", "vector must be an array of numbers")
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return notArray
	}
	out := make(Vector, 0, bytes.Count(b, []byte{','})+1)
	rest := trimJSONSpace(b[1 : len(b)-1])
	for len(rest) > 0 {
		end := bytes.IndexByte(rest, ',')
		if end < 0 {
			end = len(rest)
		}
		// An element holding a comma (a string, an array) is split in
		// two here; unit reports its first part.
		f := math.NaN()
		if num := trimJSONSpace(rest[:end]); jsonNumber(num) {
			// JSON's grammar parses; only a magnitude beyond float64's
			// errs (ErrRange), as an infinity.
			f, _ = strconv.ParseFloat(string(num), 64)
		}
		out = append(out, f)
		if end == len(rest) {
			break
		}
		if rest = trimJSONSpace(rest[end+1:]); len(rest) == 0 {
			return notArray // a trailing comma
		}
	}
	*v = out
	return nil
}

// trimJSONSpace trims the whitespace JSON allows around a value (space,
// tab, line feed, carriage return: not bytes.TrimSpace's form feed).
func trimJSONSpace(b []byte) []byte { return bytes.Trim(b, " \t\n\r") }

// jsonNumber reports whether b is a number as JSON writes it:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, which strconv.ParseFloat
// alone would widen to "+1", ".5", "Inf" and hexadecimal.
func jsonNumber(b []byte) bool {
	digits := func(i int) int {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i
	}
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(b)
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

// prepareItems gives each item its chunks and vectors: its own vector
// (vectors[i], when set) as one chunk, or chunks of its content embedded
// with the collection's model. It returns the tokens embedded.
func (s *Service) prepareItems(ctx context.Context, col *ragd.Collection, items []ragd.NewItem, vectors []Vector, params []string) ([]ragd.NewItem, int, error) {
	var embedded []ragd.NewItem
	var at []int
	for i := range items {
		if vectors[i] == nil {
			embedded, at = append(embedded, items[i]), append(at, i)
			continue
		}
		v, err := vectors[i].unit(params[i]+"vector", col)
		if err != nil {
			return nil, 0, err
		}
		items[i] = withVector(items[i], v)
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
