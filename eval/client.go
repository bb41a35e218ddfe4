package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ragd/ragd"
)

// client speaks the few routes of ragd's HTTP API (shared/API.md) that
// the benchmark needs.
type client struct {
	base string
	key  string
	http *http.Client
}

// maxRetryWait bounds how long one 429 answer makes the client wait.
const maxRetryWait = 30 * time.Second

// do sends a JSON request and decodes the JSON answer into out. A 429 is
// retried after its Retry-After; any other non-2xx answer is an
// EUNAVAILABLE *ragd.Error carrying ragd's error message.
func (c *client) do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	for {
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
		if err != nil {
			return ragd.Invalid("base_url", "bad ragd URL %q: %v", c.base, err)
		}
		req.Header.Set("Authorization", "Bearer "+c.key)
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return &ragd.Error{Kind: ragd.EUNAVAILABLE, Message: fmt.Sprintf("%s %s: ragd did not answer", method, path), Err: err}
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return &ragd.Error{Kind: ragd.EUNAVAILABLE, Message: fmt.Sprintf("%s %s: reading the answer", method, path), Err: err}
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(min(time.Duration(max(wait, 1))*time.Second, maxRetryWait)):
			}
			continue
		}
		if resp.StatusCode/100 != 2 {
			var e struct {
				Error struct{ Message, Code string } `json:"error"`
			}
			_ = json.Unmarshal(b, &e)
			msg := e.Error.Message
			if msg == "" {
				msg = strings.TrimSpace(string(b))
			}
			return ragd.Errorf(ragd.EUNAVAILABLE, "%s %s: %s: %s", method, path, resp.Status, msg)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(b, out); err != nil {
			return &ragd.Error{Kind: ragd.EUNAVAILABLE, Message: fmt.Sprintf("%s %s: answer is not the JSON of shared/API.md", method, path), Err: err}
		}
		return nil
	}
}

// embeddingModels lists the ids of the embedding models ragd serves.
func (c *client) embeddingModels(ctx context.Context) ([]string, error) {
	var resp struct {
		Data []struct{ ID, Type string } `json:"data"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/models", nil, &resp); err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range resp.Data {
		if m.Type == "embedding" {
			ids = append(ids, m.ID)
		}
	}
	return ids, nil
}

// createCollection creates a collection embedded with model and returns
// its id.
func (c *client) createCollection(ctx context.Context, name, model string) (string, error) {
	var resp struct {
		Collection struct{ ID string } `json:"collection"`
	}
	err := c.do(ctx, http.MethodPost, "/v1/vector_store", map[string]any{"name": name, "embedding_model": model}, &resp)
	return resp.Collection.ID, err
}

// addAnswers stores one item per pair (content: the answer, metadata:
// {"pair": index}) and returns the item ids in pair order.
func (c *client) addAnswers(ctx context.Context, collection string, pairs []Pair) ([]string, error) {
	const batch = 1000 // the API's limit per request
	var ids []string
	for lo := 0; lo < len(pairs); lo += batch {
		type item struct {
			Content  string         `json:"content"`
			Metadata map[string]int `json:"metadata"`
		}
		var req struct {
			Items []item `json:"items"`
		}
		for i := lo; i < min(lo+batch, len(pairs)); i++ {
			req.Items = append(req.Items, item{Content: pairs[i].Answer, Metadata: map[string]int{"pair": i}})
		}
		var resp struct {
			Items []struct{ ID string } `json:"items"`
		}
		if err := c.do(ctx, http.MethodPost, "/v1/vector_store/"+collection+"/items/batch", req, &resp); err != nil {
			return nil, err
		}
		if len(resp.Items) != len(req.Items) {
			return nil, ragd.Errorf(ragd.EUNAVAILABLE, "batch add stored %d items, want %d", len(resp.Items), len(req.Items))
		}
		for _, it := range resp.Items {
			ids = append(ids, it.ID)
		}
	}
	return ids, nil
}

// hit is one search result, reduced to what maps it back to a pair.
type hit struct {
	ItemID   string         `json:"item_id"`
	Metadata map[string]any `json:"metadata"`
}

// search runs one query and returns its results, best first. A non-nil
// alpha is sent as the request's "alpha".
func (c *client) search(ctx context.Context, collection, query, mode string, alpha *float64) ([]hit, error) {
	var resp struct {
		Results []hit `json:"results"`
	}
	body := map[string]any{"input": query, "top_k": Cutoff, "mode": mode, "include_content": false}
	if alpha != nil {
		body["alpha"] = *alpha
	}
	err := c.do(ctx, http.MethodPost, "/v1/vector_store/"+collection+"/search", body, &resp)
	return resp.Results, err
}

// deleteCollection removes a collection and everything in it.
func (c *client) deleteCollection(ctx context.Context, collection string) error {
	return c.do(ctx, http.MethodDelete, "/v1/vector_store/"+collection, nil, nil)
}
