package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/retry"
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

// do sends a JSON request (none when in is nil) and decodes the JSON
// answer into out, as send.
func (c *client) do(ctx context.Context, method, path string, in, out any) error {
	if in == nil {
		return c.send(ctx, method, path, "", nil, out)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.send(ctx, method, path, "application/json", body, out)
}

// send sends body of type contentType ("": no body) and decodes the JSON
// answer into out. A 429 is retried after its Retry-After; any other
// non-2xx answer is an EUNAVAILABLE *ragd.Error carrying ragd's error
// message.
func (c *client) send(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	for {
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
		if err != nil {
			return ragd.Invalid("base_url", "bad ragd URL %q: %v", c.base, err)
		}
		req.Header.Set("Authorization", "Bearer "+c.key)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
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
			// No or an unreadable Retry-After waits the least: a second.
			wait, _ := retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
			if err := retry.Sleep(ctx, min(max(wait, time.Second), maxRetryWait)); err != nil {
				return err
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

// collection is what the benchmark reads of a collection.
type collection struct {
	ID             string `json:"id"`
	EmbeddingModel string `json:"embedding_model"`
	Chunking       struct {
		MaxTokens     int `json:"max_tokens"`
		OverlapTokens int `json:"overlap_tokens"`
	} `json:"chunking"`
}

// createCollection creates a collection embedded with model, or with
// ragd's default model when model is "".
func (c *client) createCollection(ctx context.Context, name, model string) (*collection, error) {
	var resp struct {
		Collection collection `json:"collection"`
	}
	body := map[string]any{"name": name}
	if model != "" {
		body["embedding_model"] = model
	}
	err := c.do(ctx, http.MethodPost, "/v1/vector_store", body, &resp)
	return &resp.Collection, err
}

// uploadFile uploads one file with ?wait=true, fails unless its ingest
// completed, and returns the number of chunks ragd made of it.
func (c *client) uploadFile(ctx context.Context, coll, name string, data []byte) (int, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", name)
	if err != nil {
		return 0, err
	}
	part.Write(data)
	if err := mw.Close(); err != nil {
		return 0, err
	}
	var resp struct {
		File struct {
			Status string `json:"status"`
			Chunks int    `json:"chunks"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		} `json:"file"`
	}
	if err := c.send(ctx, http.MethodPost, "/v1/vector_store/"+coll+"/files?wait=true", mw.FormDataContentType(), body.Bytes(), &resp); err != nil {
		return 0, err
	}
	if f := resp.File; f.Status != "completed" {
		msg := ""
		if f.Error != nil {
			msg = f.Error.Message
		}
		return 0, ragd.Errorf(ragd.EUNPROCESSABLE, "file %s: ingest ended %q: %s", name, f.Status, msg)
	}
	return resp.File.Chunks, nil
}

// addAnswers stores one item per pair (content: the answer, metadata:
// {"pair": index}) and returns the pair index of each item id.
func (c *client) addAnswers(ctx context.Context, collection string, pairs []Pair) (map[string]int, error) {
	const batch = 1000 // the API's limit per request
	pairOf := make(map[string]int, len(pairs))
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
		for i, it := range resp.Items {
			pairOf[it.ID] = lo + i
		}
	}
	return pairOf, nil
}

// hit is one search result, reduced to what maps it back to a pair and,
// when asked for, its text.
type hit struct {
	ItemID   string         `json:"item_id"`
	Metadata map[string]any `json:"metadata"`
	Content  string         `json:"content"`
}

// search runs one query and returns its results, best first, with their
// text when content is set. A non-nil alpha is sent as the request's
// "alpha".
func (c *client) search(ctx context.Context, collection, query, mode string, alpha *float64, content bool) ([]hit, error) {
	var resp struct {
		Results []hit `json:"results"`
	}
	body := map[string]any{"input": query, "top_k": Cutoff, "mode": mode, "include_content": content}
	if mode == HybridNoRerank {
		body["mode"], body["rerank"] = "hybrid", map[string]string{"model": "none"}
	}
	if alpha != nil {
		body["alpha"] = *alpha
	}
	err := c.do(ctx, http.MethodPost, "/v1/vector_store/"+collection+"/search", body, &resp)
	return resp.Results, err
}

// ragAnswer asks the RAG endpoint one question with model, retrieving
// from collection with the request's defaults, and returns the answer's
// text and the text of each source, in the order the answer's citation
// numbers count them.
func (c *client) ragAnswer(ctx context.Context, collection, model, question string) (string, []string, error) {
	var resp struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		Sources []struct{ Content string } `json:"sources"`
	}
	err := c.do(ctx, http.MethodPost, "/v1/chat/completions/RAG", map[string]any{
		"collection": collection, "model": model, "messages": []map[string]string{{"role": "user", "content": question}},
	}, &resp)
	if err != nil {
		return "", nil, err
	}
	if len(resp.Choices) == 0 {
		return "", nil, ragd.Errorf(ragd.EUNAVAILABLE, "RAG answer to %q has no choices", question)
	}
	sources := make([]string, len(resp.Sources))
	for i, s := range resp.Sources {
		sources[i] = s.Content
	}
	return resp.Choices[0].Message.Content, sources, nil
}

// deleteCollection removes a collection and everything in it.
func (c *client) deleteCollection(ctx context.Context, collection string) error {
	return c.do(ctx, http.MethodDelete, "/v1/vector_store/"+collection, nil, nil)
}
