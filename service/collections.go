package service

import (
	"context"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/chunk"
)

// Default chunk sizes of a new collection, capped by its embedder's limit.
const (
	defaultMaxTokens     = 512
	defaultOverlapTokens = 64
)

// ChunkingChange holds requested chunk sizes; nil fields keep the base
// sizes they change.
type ChunkingChange struct {
	MaxTokens     *int `json:"max_tokens"`
	OverlapTokens *int `json:"overlap_tokens"`
}

// resolve applies c to base and checks the sizes against the embedding
// model's input limit.
func (c *ChunkingChange) resolve(base ragd.Chunking, limit int) (ragd.Chunking, error) {
	out := base
	if c != nil {
		if c.MaxTokens != nil {
			out.MaxTokens = *c.MaxTokens
		}
		if c.OverlapTokens != nil {
			out.OverlapTokens = *c.OverlapTokens
		}
	}
	if out.MaxTokens < 1 || out.MaxTokens > limit {
		return out, ragd.Invalid("max_tokens", "max_tokens must be between 1 and %d (the embedding model's input limit), got %d", limit, out.MaxTokens)
	}
	if out.OverlapTokens < 0 || out.OverlapTokens >= out.MaxTokens {
		return out, ragd.Invalid("overlap_tokens", "overlap_tokens must be at least 0 and less than max_tokens (%d), got %d", out.MaxTokens, out.OverlapTokens)
	}
	return out, nil
}

// NewCollection is a collection to create.
type NewCollection struct {
	Name, Description string
	// EmbeddingModel names the model; empty means the default one, and
	// ragd.NoEmbeddingModel a collection of the clients' own vectors of
	// Dimensions dimensions.
	EmbeddingModel string
	// Dimensions is the length of the vectors; with a model it may be
	// left 0, else it must be the model's.
	Dimensions int
	Chunking   *ChunkingChange
	Metadata   map[string]any
	// ExpiresAfterDays, when above 0, deletes the collection's contents
	// that many days after it was last active (a vector store's
	// expires_after).
	ExpiresAfterDays int
	// Quantization is one of ragd's Quantization settings; empty means
	// ragd.QuantizationAuto.
	Quantization string
}

// CreateCollection validates nc and creates it in workspace ws with the
// dimensions of its model. An unknown model is EINVALID (embedding_model),
// a duplicate name ECONFLICT.
func (s *Service) CreateCollection(ctx context.Context, ws string, nc NewCollection) (*ragd.Collection, error) {
	if err := ragd.ValidateCollectionName(nc.Name); err != nil {
		return nil, err
	}
	if err := ragd.ValidateText("description", nc.Description, true); err != nil {
		return nil, err
	}
	if err := ragd.ValidateMetadata("metadata", nc.Metadata); err != nil {
		return nil, err
	}
	if nc.Quantization == "" {
		nc.Quantization = ragd.QuantizationAuto
	}
	if err := ragd.ValidateQuantization(nc.Quantization); err != nil {
		return nil, err
	}
	model, dims, limit, err := s.collectionModel(nc)
	if err != nil {
		return nil, err
	}
	chunking, err := nc.Chunking.resolve(ragd.Chunking{
		MaxTokens: min(defaultMaxTokens, limit), OverlapTokens: min(defaultOverlapTokens, limit/4)}, limit)
	if err != nil {
		return nil, err
	}
	now := s.now().Unix()
	col := &ragd.Collection{ID: ragd.NewID("col"), Workspace: ws, Name: nc.Name, Description: nc.Description,
		Created: now, Updated: now, EmbeddingModel: model, Dimensions: dims, Chunking: chunking, Metadata: nc.Metadata,
		ExpiresAfterDays: nc.ExpiresAfterDays, Quantization: nc.Quantization}
	if col.Metadata == nil {
		col.Metadata = map[string]any{}
	}
	if err := s.write.CreateCollection(ctx, col); err != nil {
		return nil, err
	}
	return col, nil
}

// collectionModel returns the embedding model nc asks for, its vectors'
// dimensions and its input limit in tokens. An unknown model is EINVALID
// (embedding_model); so are dimensions the model does not have, or out of
// range without a model.
func (s *Service) collectionModel(nc NewCollection) (model string, dims, limit int, err error) {
	if nc.EmbeddingModel == ragd.NoEmbeddingModel {
		if nc.Dimensions < 1 || nc.Dimensions > ragd.MaxDimensions {
			return "", 0, 0, ragd.Invalid("dimensions", "a collection without an embedding model needs dimensions between 1 and %d, the length of its vectors; got %d", ragd.MaxDimensions, nc.Dimensions)
		}
		// Items bringing their vectors are not chunked: the limit only
		// bounds the chunking settings.
		return ragd.NoEmbeddingModel, nc.Dimensions, chunk.MaxLimit, nil
	}
	emb := s.embedders.Default()
	if nc.EmbeddingModel != "" {
		if emb, err = s.embedders.Get(nc.EmbeddingModel); err != nil {
			e := err.(*ragd.Error)
			e.Kind, e.Param = ragd.EINVALID, "embedding_model"
			return "", 0, 0, e
		}
	}
	if nc.Dimensions != 0 && nc.Dimensions != emb.Dimensions() {
		return "", 0, 0, ragd.Invalid("dimensions", "model %s makes vectors of %d dimensions, not %d; leave dimensions out", emb.Name(), emb.Dimensions(), nc.Dimensions)
	}
	return emb.Name(), emb.Dimensions(), emb.MaxInputTokens(), nil
}

// Collections returns a page of the collections of workspace ws and
// whether more follow.
func (s *Service) Collections(ctx context.Context, ws string, p ragd.Page) ([]*ragd.Collection, bool, error) {
	return s.store.Collections(ctx, ws, p)
}

// Collection returns collection id (or name) of workspace ws, or
// ENOTFOUND.
func (s *Service) Collection(ctx context.Context, ws, id string) (*ragd.Collection, error) {
	return s.store.Collection(ctx, ws, id)
}

// UpdateCollection validates u and applies it to collection id of ws.
func (s *Service) UpdateCollection(ctx context.Context, ws, id string, u ragd.CollectionUpdate) (*ragd.Collection, error) {
	if u.Name != nil {
		if err := ragd.ValidateCollectionName(*u.Name); err != nil {
			return nil, err
		}
	}
	if u.Description != nil {
		if err := ragd.ValidateText("description", *u.Description, true); err != nil {
			return nil, err
		}
	}
	if err := ragd.ValidateMetadata("metadata", u.Metadata); err != nil {
		return nil, err
	}
	if u.Quantization != nil {
		if err := ragd.ValidateQuantization(*u.Quantization); err != nil {
			return nil, err
		}
	}
	u.At = s.now().Unix()
	return s.write.UpdateCollection(ctx, ws, id, u)
}

// DeleteCollection deletes collection id of ws with everything in it, and
// stops the ingest of its files.
func (s *Service) DeleteCollection(ctx context.Context, ws, id string) (*ragd.Collection, error) {
	col, files, err := s.write.DeleteCollection(ctx, ws, id)
	if err != nil {
		return nil, err
	}
	if s.ingester != nil {
		s.ingester.Forget(files)
	}
	return col, nil
}
