package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"

	"github.com/ragd/ragd"
)

// NewCollection is the body of a collection creation; zero fields take
// the server's defaults.
type NewCollection struct {
	Name           string         `json:"name"`
	Description    string         `json:"description,omitempty"`
	EmbeddingModel string         `json:"embedding_model,omitempty"`
	Chunking       *ragd.Chunking `json:"chunking,omitempty"`
	Metadata       map[string]any `json:"metadata,omitempty"`
}

// Collections iterates over the collections of the key's workspace in
// creation order, a page at a time.
func (c *Client) Collections(ctx context.Context) iter.Seq2[*ragd.Collection, error] {
	return list[ragd.Collection](ctx, c, "/v1/vector_store", "collections", "")
}

// CollectionByName returns the collection named name, or an ENOTFOUND
// error.
func (c *Client) CollectionByName(ctx context.Context, name string) (*ragd.Collection, error) {
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
func (c *Client) CreateCollection(ctx context.Context, nc NewCollection) (*ragd.Collection, error) {
	b, err := jsonBody(nc)
	if err != nil {
		return nil, err
	}
	var out struct {
		Collection *ragd.Collection `json:"collection"`
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
