package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/server"
)

// sdkDoc is one of the documents of testdata/openai, shared with the Node
// SDK tests (test/openai-node).
type sdkDoc struct {
	name  string
	data  []byte
	attrs map[string]any // string, float64 or bool, as OpenAI's attributes
}

func readSDKDoc(t *testing.T, name string, attrs map[string]any) sdkDoc {
	t.Helper()
	data, err := os.ReadFile("../testdata/openai/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return sdkDoc{name, data, attrs}
}

// upload is Files.New as an application sends a document.
func (d sdkDoc) upload() openai.FileNewParams {
	contentType := "text/plain"
	if strings.HasSuffix(d.name, ".md") {
		contentType = "text/markdown"
	}
	return openai.FileNewParams{File: openai.File(bytes.NewReader(d.data), d.name, contentType), Purpose: openai.FilePurposeAssistants}
}

// updateAttrs are d's attributes as Files.Update parameters.
func (d sdkDoc) updateAttrs() map[string]openai.VectorStoreFileUpdateParamsAttributeUnion {
	out := map[string]openai.VectorStoreFileUpdateParamsAttributeUnion{}
	for k, v := range d.attrs {
		switch v := v.(type) {
		case string:
			out[k] = openai.VectorStoreFileUpdateParamsAttributeUnion{OfString: openai.String(v)}
		case float64:
			out[k] = openai.VectorStoreFileUpdateParamsAttributeUnion{OfFloat: openai.Float(v)}
		case bool:
			out[k] = openai.VectorStoreFileUpdateParamsAttributeUnion{OfBool: openai.Bool(v)}
		}
	}
	return out
}

// attrsOf decodes attributes as the SDK received them, from their raw JSON.
func attrsOf[A interface{ RawJSON() string }](t *testing.T, attrs map[string]A) map[string]any {
	t.Helper()
	out := map[string]any{}
	for k, v := range attrs {
		var value any
		if err := json.Unmarshal([]byte(v.RawJSON()), &value); err != nil {
			t.Fatalf("attribute %s = %s: %v", k, v.RawJSON(), err)
		}
		out[k] = value
	}
	return out
}

// wantAPIError checks that err is OpenAI's error shape with status and, for
// a 400, type invalid_request_error and the field param.
func wantAPIError(t *testing.T, err error, status int, param string) {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("got %v, want an *openai.Error with status %d", err, status)
	}
	if apiErr.StatusCode != status || apiErr.Message == "" || apiErr.Type == "" ||
		(status == 400 && (apiErr.Type != "invalid_request_error" || apiErr.Param != param)) {
		t.Fatalf("got status %d type %q code %q param %q message %q, want status %d param %q",
			apiErr.StatusCode, apiErr.Type, apiErr.Code, apiErr.Param, apiErr.Message, status, param)
	}
}

// TestVectorStoresWithOpenAIGoClient runs the core flow of OpenAI's hosted
// retrieval with openai-go: upload, a vector store made from file IDs, a
// batch uploaded and polled, attributes, a filtered search, a delete, and
// the errors of bad input.
func TestVectorStoresWithOpenAIGoClient(t *testing.T) {
	// No rate limit: the SDKs poll while files are ingested.
	ts := serve(t, setup{ingest: &ingest.Config{Workers: 2}, cfg: server.Config{Ops: server.OpsConfig{DefaultTier: &server.Tier{Name: "unlimited"}}}})
	client := openaiClient(ts, ts.admin)
	other := openaiClient(ts, ts.key(t, "other", true))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	storage := readSDKDoc(t, "storage.md", map[string]any{"topic": "operations", "year": 2024.0, "reviewed": true})
	search := readSDKDoc(t, "search.md", map[string]any{"topic": "operations", "year": 2019.0, "reviewed": false})
	webhooks := readSDKDoc(t, "webhooks.txt", map[string]any{"topic": "integrations", "year": 2025.0, "reviewed": true})

	f, err := client.Files.New(ctx, storage.upload())
	if err != nil {
		t.Fatalf("Files.New: %v", err)
	}
	if f.ID == "" || f.Filename != storage.name || f.Bytes != int64(len(storage.data)) || f.Purpose != openai.FileObjectPurposeAssistants ||
		time.Since(time.Unix(f.CreatedAt, 0)).Abs() > time.Hour {
		t.Fatalf("file %+v", f)
	}

	vs, err := client.VectorStores.New(ctx, openai.VectorStoreNewParams{
		Name: openai.String("ragd-go-sdk"), FileIDs: []string{f.ID}, Metadata: shared.Metadata{"suite": "openai-go"}})
	if err != nil {
		t.Fatalf("VectorStores.New: %v", err)
	}
	if vs.Name != "ragd-go-sdk" || vs.Metadata["suite"] != "openai-go" || vs.FileCounts.Total != 1 {
		t.Fatalf("vector store %+v", vs)
	}
	vf, err := client.VectorStores.Files.PollStatus(ctx, vs.ID, f.ID, 50)
	if err != nil {
		t.Fatalf("VectorStores.Files.PollStatus: %v", err)
	}
	if vf.Status != openai.VectorStoreFileStatusCompleted || vf.ID != f.ID || vf.VectorStoreID != vs.ID {
		t.Fatalf("vector store file %+v", vf)
	}

	batch, err := client.VectorStores.FileBatches.UploadAndPoll(ctx, vs.ID, []openai.FileNewParams{search.upload(), webhooks.upload()}, nil, 50)
	if err != nil {
		t.Fatalf("VectorStores.FileBatches.UploadAndPoll: %v", err)
	}
	if batch.Status != openai.VectorStoreFileBatchStatusCompleted || batch.VectorStoreID != vs.ID ||
		batch.FileCounts.Completed != 2 || batch.FileCounts.Total != 2 || batch.FileCounts.Failed != 0 {
		t.Fatalf("batch %+v", batch)
	}
	ids := map[string]string{storage.name: f.ID} // file name -> file ID
	iter := client.VectorStores.FileBatches.ListFilesAutoPaging(ctx, vs.ID, batch.ID, openai.VectorStoreFileBatchListFilesParams{})
	for iter.Next() {
		file, err := client.Files.Get(ctx, iter.Current().ID)
		if err != nil {
			t.Fatalf("Files.Get: %v", err)
		}
		ids[file.Filename] = file.ID
	}
	if err := iter.Err(); err != nil || len(ids) != 3 {
		t.Fatalf("batch files %v, %v", ids, err)
	}

	listed := func(params openai.VectorStoreFileListParams) []string {
		t.Helper()
		var got []string
		iter := client.VectorStores.Files.ListAutoPaging(ctx, vs.ID, params)
		for iter.Next() {
			got = append(got, iter.Current().ID)
		}
		if err := iter.Err(); err != nil {
			t.Fatalf("VectorStores.Files.ListAutoPaging: %v", err)
		}
		slices.Sort(got)
		return got
	}
	all := []string{ids[storage.name], ids[search.name], ids[webhooks.name]}
	slices.Sort(all)
	if got := listed(openai.VectorStoreFileListParams{Filter: openai.VectorStoreFileListParamsFilterCompleted}); !slices.Equal(got, all) {
		t.Fatalf("completed files %v, want %v", got, all)
	}
	if got := listed(openai.VectorStoreFileListParams{Filter: openai.VectorStoreFileListParamsFilterInProgress}); len(got) != 0 {
		t.Fatalf("in-progress files %v", got)
	}

	for _, d := range []sdkDoc{storage, search, webhooks} {
		vf, err := client.VectorStores.Files.Update(ctx, vs.ID, ids[d.name], openai.VectorStoreFileUpdateParams{Attributes: d.updateAttrs()})
		if err != nil {
			t.Fatalf("VectorStores.Files.Update: %v", err)
		}
		if got := attrsOf(t, vf.Attributes); !maps.Equal(got, d.attrs) {
			t.Fatalf("%s attributes %v, want %v", d.name, got, d.attrs)
		}
	}

	query := openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String("How do I back up the database while the server is running?")}
	page, err := client.VectorStores.Search(ctx, vs.ID, openai.VectorStoreSearchParams{
		Query: query,
		Filters: openai.VectorStoreSearchParamsFiltersUnion{OfCompoundFilter: &shared.CompoundFilterParam{
			Type: shared.CompoundFilterTypeAnd,
			Filters: []shared.CompoundFilterFilterUnionParam{
				{OfComparison: &shared.ComparisonFilterParam{Key: "topic", Type: shared.ComparisonFilterTypeEq,
					Value: shared.ComparisonFilterValueUnionParam{OfString: openai.String("operations")}}},
				{OfComparison: &shared.ComparisonFilterParam{Key: "year", Type: shared.ComparisonFilterTypeGte,
					Value: shared.ComparisonFilterValueUnionParam{OfFloat: openai.Float(2020)}}},
			},
		}},
		MaxNumResults: openai.Int(5),
	})
	if err != nil {
		t.Fatalf("VectorStores.Search: %v", err)
	}
	if len(page.Data) == 0 || len(page.Data) > 5 {
		t.Fatalf("%d results", len(page.Data))
	}
	for _, r := range page.Data {
		if r.FileID != ids[storage.name] || r.Filename != storage.name || !maps.Equal(attrsOf(t, r.Attributes), storage.attrs) ||
			len(r.Content) == 0 || r.Content[0].Type != "text" {
			t.Fatalf("filtered result %+v", r)
		}
	}
	if !strings.Contains(page.Data[0].Content[0].Text, "ragd backup") {
		t.Fatalf("top result %q does not hold the backup passage", page.Data[0].Content[0].Text)
	}

	del, err := client.VectorStores.Files.Delete(ctx, vs.ID, ids[webhooks.name])
	if err != nil || !del.Deleted || del.ID != ids[webhooks.name] {
		t.Fatalf("delete: %+v, %v", del, err)
	}
	if got := listed(openai.VectorStoreFileListParams{}); len(got) != 2 || slices.Contains(got, ids[webhooks.name]) {
		t.Fatalf("files after the delete: %v", got)
	}
	if _, err := client.Files.Get(ctx, ids[webhooks.name]); err != nil {
		t.Fatalf("the file itself is gone with its vector store file: %v", err)
	}

	theirs, err := other.VectorStores.New(ctx, openai.VectorStoreNewParams{Name: openai.String("theirs")})
	if err != nil {
		t.Fatalf("another workspace's VectorStores.New: %v", err)
	}
	theirFile, err := other.Files.New(ctx, webhooks.upload())
	if err != nil {
		t.Fatalf("another workspace's Files.New: %v", err)
	}
	seventeen := map[string]openai.VectorStoreFileUpdateParamsAttributeUnion{}
	for i := range 17 {
		seventeen[string(rune('a'+i))] = openai.VectorStoreFileUpdateParamsAttributeUnion{OfFloat: openai.Float(float64(i))}
	}
	static := func(size, overlap int64) openai.FileChunkingStrategyParamUnion {
		return openai.FileChunkingStrategyParamUnion{OfStatic: &openai.StaticFileChunkingStrategyObjectParam{
			Static: openai.StaticFileChunkingStrategyParam{MaxChunkSizeTokens: size, ChunkOverlapTokens: overlap}}}
	}
	errs := []struct {
		name   string
		call   func() error
		status int
		param  string
	}{
		{"Err17Attributes", func() error {
			_, err := client.VectorStores.Files.Update(ctx, vs.ID, f.ID, openai.VectorStoreFileUpdateParams{Attributes: seventeen})
			return err
		}, 400, "attributes"},
		{"ErrChunkSizeBelow100", func() error {
			_, err := client.VectorStores.Files.New(ctx, vs.ID, openai.VectorStoreFileNewParams{FileID: ids[webhooks.name], ChunkingStrategy: static(50, 0)})
			return err
		}, 400, "chunking_strategy.static.max_chunk_size_tokens"},
		{"ErrChunkSizeAbove4096", func() error {
			_, err := client.VectorStores.New(ctx, openai.VectorStoreNewParams{Name: openai.String("big"), ChunkingStrategy: static(4097, 0)})
			return err
		}, 400, "chunking_strategy.static.max_chunk_size_tokens"},
		{"ErrMissingQuery", func() error {
			_, err := client.VectorStores.Search(ctx, vs.ID, openai.VectorStoreSearchParams{})
			return err
		}, 400, "query"},
		{"ErrEmptyFileID", func() error {
			_, err := client.VectorStores.Files.New(ctx, vs.ID, openai.VectorStoreFileNewParams{})
			return err
		}, 400, "file_id"},
		{"ErrUnknownFileID", func() error {
			_, err := client.VectorStores.Files.New(ctx, vs.ID, openai.VectorStoreFileNewParams{FileID: "file-doesnotexist"})
			return err
		}, 404, ""},
		{"ErrUnknownVectorStore", func() error {
			_, err := client.VectorStores.Get(ctx, "vs_doesnotexist")
			return err
		}, 404, ""},
		{"ErrOtherWorkspaceVectorStore", func() error {
			_, err := client.VectorStores.Search(ctx, theirs.ID, openai.VectorStoreSearchParams{Query: query})
			return err
		}, 404, ""},
		{"ErrOtherWorkspaceFile", func() error {
			_, err := client.VectorStores.Files.New(ctx, vs.ID, openai.VectorStoreFileNewParams{FileID: theirFile.ID})
			return err
		}, 404, ""},
		{"ErrOtherWorkspaceReadsOurs", func() error {
			_, err := other.VectorStores.Files.Get(ctx, vs.ID, f.ID)
			return err
		}, 404, ""},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) { wantAPIError(t, tt.call(), tt.status, tt.param) })
	}
}
