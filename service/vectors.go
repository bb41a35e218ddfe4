package service

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// Vectors a client brings (issue 13): items and searches may carry their
// own vector instead of having ragd embed their text. A collection
// created with embedding_model "none" stores only such vectors.

// Vector is a vector as a client sends it: JSON numbers, read one by one
// so that a number out of float32's range is refused by its index rather
// than failing the whole body.
type Vector []json.Number

// unit returns v checked and scaled to unit length, as ragd stores
// vectors (so L2 distance orders like cosine similarity): every element a
// finite number, not all zero, and dims of them. A wrong length in a
// collection with an embedding model is EUNPROCESSABLE (the model fixes
// the length), otherwise EINVALID; param names the field.
func (v Vector) unit(param string, col *ragd.Collection) ([]float32, error) {
	if len(v) != col.Dimensions {
		e := ragd.Invalid(param, "%s has %d numbers; collection %s stores vectors of %d dimensions", param, len(v), col.ID, col.Dimensions)
		if col.EmbeddingModel != ragd.NoEmbeddingModel {
			e.Kind, e.Code = ragd.EUNPROCESSABLE, "dimension_mismatch"
		}
		return nil, e
	}
	out := make([]float32, len(v))
	var norm float64
	for i, n := range v {
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(float64(float32(f)), 0) || math.IsNaN(f) {
			return nil, ragd.Invalid(fmt.Sprintf("%s[%d]", param, i), "%s[%d] must be a finite number within float32's range, got %s", param, i, n)
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
