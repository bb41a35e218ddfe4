package server_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func openaiClient(ts *testServer, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(ts.URL+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
}

func norm(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

func TestEmbeddingsWithOpenAIClient(t *testing.T) {
	ts := newTestServer(t)
	client := openaiClient(ts, ts.admin)
	ctx := context.Background()
	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
		t.Run(string(format), func(t *testing.T) {
			resp, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
				Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"first text", "second text", "first text"}},
				Model:          "hash",
				EncodingFormat: format,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Data) != 3 || resp.Model != "hash" || resp.Usage.TotalTokens != 6 || resp.Usage.PromptTokens != 6 {
				t.Fatalf("response %+v", resp)
			}
			for i, d := range resp.Data {
				if d.Index != int64(i) || len(d.Embedding) != 384 || math.Abs(norm(d.Embedding)-1) > 1e-5 {
					t.Fatalf("data[%d]: index %d, %d dims, norm %v", i, d.Index, len(d.Embedding), norm(d.Embedding))
				}
			}
			for j := range resp.Data[0].Embedding {
				if resp.Data[0].Embedding[j] != resp.Data[2].Embedding[j] {
					t.Fatal("the same text embedded twice differs")
				}
			}
		})
	}
	t.Run("DefaultModelAndDimensions", func(t *testing.T) {
		resp, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("one")}, Model: "hash-64", Dimensions: openai.Int(16)})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data[0].Embedding) != 16 || math.Abs(norm(resp.Data[0].Embedding)-1) > 1e-5 {
			t.Fatalf("shortened vector: %d dims, norm %v", len(resp.Data[0].Embedding), norm(resp.Data[0].Embedding))
		}
	})
	errs := []struct {
		name   string
		params openai.EmbeddingNewParams
		status int
		param  string
	}{
		{"ErrUnknownModel", openai.EmbeddingNewParams{Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}, Model: "nope"}, 404, "model"},
		{"ErrTooManyDimensions", openai.EmbeddingNewParams{Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}, Model: "hash", Dimensions: openai.Int(385)}, 400, "dimensions"},
		{"ErrTokenArrays", openai.EmbeddingNewParams{Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokens: []int64{1, 2}}, Model: "hash"}, 400, "input"},
		{"ErrEmptyInput", openai.EmbeddingNewParams{Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("")}, Model: "hash"}, 400, "input"},
		{"ErrEmptyInputInArray", openai.EmbeddingNewParams{Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", ""}}, Model: "hash"}, 400, "input[1]"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.Embeddings.New(ctx, tt.params)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status || apiErr.Param != tt.param || apiErr.Message == "" {
				t.Fatalf("got %v, want status %d param %s", err, tt.status, tt.param)
			}
		})
	}
	r := ts.do(t, "POST", "/v1/embeddings", ts.admin, map[string]any{"input": "x", "encoding_format": "int8"})
	if _, param := r.errCode(); r.status != 400 || param != "encoding_format" {
		t.Fatalf("bad encoding_format: %d %s", r.status, r.raw)
	}
	r = ts.do(t, "POST", "/v1/embeddings", ts.admin, map[string]any{"model": "hash"})
	if _, param := r.errCode(); r.status != 400 || param != "input" {
		t.Fatalf("missing input: %d %s", r.status, r.raw)
	}
}

func TestModelsWithOpenAIClient(t *testing.T) {
	ts := newTestServer(t)
	client := openaiClient(ts, ts.admin)
	ctx := context.Background()
	page, err := client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]openai.Model{}
	for _, m := range page.Data {
		found[m.ID] = m
	}
	h, ok := found["hash"]
	if !ok || h.OwnedBy != "ragd" || h.JSON.ExtraFields["type"].Raw() != `"embedding"` || h.JSON.ExtraFields["dimensions"].Raw() != "384" {
		t.Fatalf("models %+v", page.Data)
	}
	if _, ok := found["hash-64"]; !ok {
		t.Fatalf("hash-64 not listed: %+v", page.Data)
	}
	m, err := client.Models.Get(ctx, "hash-64")
	if err != nil || m.ID != "hash-64" || m.JSON.ExtraFields["dimensions"].Raw() != "64" {
		t.Fatalf("get: %+v %v", m, err)
	}
	_, err = client.Models.Get(ctx, "gpt-nope")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Fatalf("unknown model: %v", err)
	}
	wrong := openaiClient(ts, "wrong")
	_, err = wrong.Models.List(ctx)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Type != "authentication_error" {
		t.Fatalf("bad key: %v", err)
	}
}
