package service

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// MaxBatchItems is the most items one batch may add.
const MaxBatchItems = 1000

// ItemInput is an item as a client sends it; nil fields are absent.
type ItemInput struct {
	Content     *string        `json:"content"`
	Description *string        `json:"description"`
	Metadata    map[string]any `json:"metadata"`
	// Vector, when set, is the item's own vector: the item is stored
	// whole as one chunk with it, and its content may be empty.
	Vector Vector `json:"vector"`
}

// validate checks one item to add; param prefixes its field names
// ("items[3].").
func (in ItemInput) validate(param string) (ragd.NewItem, error) {
	if in.Content == nil && in.Vector != nil {
		in.Content = new(string)
	}
	if in.Content == nil || (strings.TrimSpace(*in.Content) == "" && in.Vector == nil) {
		return ragd.NewItem{}, ragd.Invalid(param+"content", "content is required and must not be empty (unless the item brings its vector)")
	}
	if !utf8.ValidString(*in.Content) {
		return ragd.NewItem{}, ragd.Invalid(param+"content", "content must be valid UTF-8 text")
	}
	if err := ragd.ValidateMetadata(param+"metadata", in.Metadata); err != nil {
		return ragd.NewItem{}, err
	}
	ni := ragd.NewItem{Content: *in.Content, Metadata: in.Metadata}
	if in.Description != nil {
		if err := ragd.ValidateText(param+"description", *in.Description, true); err != nil {
			return ragd.NewItem{}, err
		}
		ni.Description = *in.Description
	} else {
		ni.Description = ingest.Describe(ni.Content)
	}
	return ni, nil
}

// ItemTokens returns the tokens embedding the contents of in will use (a
// little more where chunks overlap; none for items bringing their
// vectors), for a rate limiter to reserve before AddItems runs.
func ItemTokens(in []ItemInput) int {
	n := 0
	for _, it := range in {
		if it.Content != nil && it.Vector == nil {
			n += CountTokens(*it.Content)
		}
	}
	return n
}

// AddItems validates, chunks and embeds items and stores them in
// collection colID of workspace ws, all or none. batch names the fields
// of a batch request ("items[i]."). It returns the stored items and the
// tokens embedded.
func (s *Service) AddItems(ctx context.Context, ws, colID string, in []ItemInput, batch bool) ([]*ragd.Item, Tokens, error) {
	if batch && len(in) == 0 {
		return nil, nil, ragd.Invalid("items", "items must be a non-empty array")
	}
	if len(in) > MaxBatchItems {
		return nil, nil, ragd.Invalid("items", "a batch holds at most %d items, got %d; split it", MaxBatchItems, len(in))
	}
	items := make([]ragd.NewItem, len(in))
	vectors, params := make([]Vector, len(in)), make([]string, len(in))
	now := s.now().Unix()
	for i, it := range in {
		if batch {
			params[i] = "items[" + strconv.Itoa(i) + "]."
		}
		var err error
		if items[i], err = it.validate(params[i]); err != nil {
			return nil, nil, err
		}
		items[i].ID, items[i].Created = ragd.NewID("item"), now
		vectors[i] = it.Vector
	}
	col, err := s.store.Collection(ctx, ws, colID)
	if err != nil {
		return nil, nil, err
	}
	items, tokens, err := s.prepareItems(ctx, col, items, vectors, params)
	if err != nil {
		return nil, nil, err
	}
	stored, err := s.write.InsertItems(ctx, ws, colID, items)
	return stored, Tokens{}.Add(col.EmbeddingModel, tokens), err
}

// Items returns a page of the items of collection colID and whether more
// follow.
func (s *Service) Items(ctx context.Context, ws, colID string, p ragd.Page) ([]*ragd.Item, bool, error) {
	return s.store.Items(ctx, ws, colID, p)
}

// Item returns item itemID of collection colID, or ENOTFOUND.
func (s *Service) Item(ctx context.Context, ws, colID, itemID string) (*ragd.Item, error) {
	return s.store.Item(ctx, ws, colID, itemID)
}

// UpdateItem validates in and applies it to item itemID: new content is
// chunked and embedded again. It returns the item and the tokens embedded.
func (s *Service) UpdateItem(ctx context.Context, ws, colID, itemID string, in ItemInput) (*ragd.Item, Tokens, error) {
	if err := ragd.ValidateMetadata("metadata", in.Metadata); err != nil {
		return nil, nil, err
	}
	if in.Description != nil {
		if err := ragd.ValidateText("description", *in.Description, true); err != nil {
			return nil, nil, err
		}
	}
	u := ragd.ItemUpdate{Description: in.Description, Metadata: in.Metadata, At: s.now().Unix()}
	var tokens Tokens
	if in.Content != nil || in.Vector != nil {
		col, err := s.store.Collection(ctx, ws, colID)
		if err != nil {
			return nil, nil, err
		}
		if in.Content == nil {
			// A new vector for the content the item has.
			it, err := s.store.Item(ctx, ws, col.ID, itemID)
			if err != nil {
				return nil, nil, err
			}
			in.Content = &it.Content
		}
		ni, err := in.validate("")
		if err != nil {
			return nil, nil, err
		}
		prepared, n, err := s.prepareItems(ctx, col, []ragd.NewItem{ni}, []Vector{in.Vector}, []string{""})
		if err != nil {
			return nil, nil, err
		}
		u.Content, u.Chunks, tokens = &ni.Content, prepared[0].Chunks, tokens.Add(col.EmbeddingModel, n)
	}
	it, err := s.write.UpdateItem(ctx, ws, colID, itemID, u)
	return it, tokens, err
}

// DeleteItem deletes item itemID with its chunks.
func (s *Service) DeleteItem(ctx context.Context, ws, colID, itemID string) error {
	return s.write.DeleteItem(ctx, ws, colID, itemID, s.now().Unix())
}
