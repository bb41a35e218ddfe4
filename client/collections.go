package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"

	"github.com/ragd/ragd"
)

// Chunking is a collection's default token chunking.
type Chunking struct {
	MaxTokens     int `json:"max_tokens"`
	OverlapTokens int `json:"overlap_tokens"`
}

// Collection is a vector store collection as the API shows it.
type Collection struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Description    string         `json:"description"`
	Created        int64          `json:"created"`
	Updated        int64          `json:"updated"`
	EmbeddingModel string         `json:"embedding_model"`
	Dimensions     int            `json:"dimensions"`
	Chunking       Chunking       `json:"chunking"`
	ItemCount      int            `json:"item_count"`
	FileCount      int            `json:"file_count"`
	ChunkCount     int            `json:"chunk_count"`
	Bytes          int64          `json:"bytes"`
	Metadata       map[string]any `json:"metadata"`
}

// NewCollection is the body of a collection creation; zero fields take
// the server's defaults.
type NewCollection struct {
	Name           string         `json:"name"`
	Description    string         `json:"description,omitempty"`
	EmbeddingModel string         `json:"embedding_model,omitempty"`
	Chunking       *Chunking      `json:"chunking,omitempty"`
	Metadata       map[string]any `json:"metadata,omitempty"`
}

// Collections iterates over the collections of the key's workspace in
// creation order, a page at a time.
func (c *Client) Collections(ctx context.Context) iter.Seq2[*Collection, error] {
	return list[Collection](ctx, c, "/v1/vector_store", "collections", "")
}

// CollectionByName returns the collection named name, or an ENOTFOUND
// error.
func (c *Client) CollectionByName(ctx context.Context, name string) (*Collection, error) {
	for col, err := range c.Collections(ctx) {
		if err != nil {
			return nil, err
		}
		if col.Name == name {
			return col, nil
		}
	}
	return nil, ragd.NotFound("collection", name)
}

// CreateCollection creates a collection. A name already taken is an
// ECONFLICT error.
func (c *Client) CreateCollection(ctx context.Context, nc NewCollection) (*Collection, error) {
	b, err := jsonBody(nc)
	if err != nil {
		return nil, err
	}
	var out struct {
		Collection *Collection `json:"collection"`
	}
	if _, err := c.do(ctx, http.MethodPost, "/v1/vector_store", nil, b, &out); err != nil {
		return nil, err
	}
	return out.Collection, nil
}

// collectionPath is the path of collection id plus rest.
func collectionPath(id, rest string) string {
	return "/v1/vector_store/" + url.PathEscape(id) + rest
}
