package service

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/rag"
	"github.com/ragd/ragd/rerank"
)

// MaxVectorStoreResults is the largest max_num_results of a vector store
// search (OpenAI's limit).
const MaxVectorStoreResults = 50

// MaxSearchQueries and MaxSearchedStores bound one vector store search:
// each query of each store is a search of its own, so a client cannot
// make one request cost thousands.
const (
	MaxSearchQueries  = 10
	MaxSearchedStores = 10
)

// MaxAttachFiles is the most files one request attaches (OpenAI's limit
// of a file batch and of a vector store's file_ids).
const MaxAttachFiles = 500

// DefaultVectorStoreResults is max_num_results when a search sets none.
const DefaultVectorStoreResults = 10

// rankers are the ranker values of ranking_options: "none" is ragd's
// hybrid search alone, the others add its default rerank (see
// Config.DefaultRerank).
var rankers = map[string]bool{"": true, "auto": true, "none": true, "default-2024-11-15": true}

// VectorStoreQuery is a search of vector stores (collections) in OpenAI's
// terms: /v1/vector_stores/{id}/search and the file_search tool of
// /v1/responses.
type VectorStoreQuery struct {
	// Queries are the query texts; each is searched and the results
	// merged, a chunk keeping its best score.
	Queries []string
	// MaxResults is how many results to return, 1..MaxVectorStoreResults
	// (nil: DefaultVectorStoreResults).
	MaxResults *int
	// Filters restricts the searched chunks by their attributes, in
	// OpenAI's terms (ragd.ParseOpenAIFilter).
	Filters json.RawMessage
	// Ranking holds the ranker ("none" turns ragd's default rerank off;
	// the others keep it) and a score threshold.
	Ranking *rag.RankingOptions
	// Param prefixes the field names of errors ("" for the search route,
	// "tools[0]." for a tool).
	Param string
}

// VectorStoreResult is one passage a vector store search found.
type VectorStoreResult struct {
	// FileID is the ID the file is known by through the OpenAI API: the
	// /v1/files ID it was attached as, or its ragd file ID.
	FileID   string
	Filename string
	// CollectionID is the vector store searched.
	CollectionID string
	// Source is the ragd search result the passage came from: its score,
	// text (Content) and attributes (Metadata).
	Source ragd.SearchResult
}

// SearchVectorStores searches vector stores ids of workspace ws with q and
// returns the best results over all of them, best first, with the
// embedding tokens the queries used.
func (s *Service) SearchVectorStores(ctx context.Context, ws string, ids []string, q VectorStoreQuery) ([]VectorStoreResult, Tokens, error) {
	limit := DefaultVectorStoreResults
	if q.MaxResults != nil {
		limit = *q.MaxResults
	}
	if limit < 1 || limit > MaxVectorStoreResults {
		return nil, nil, ragd.Invalid(q.Param+"max_num_results", "max_num_results must be between 1 and %d, got %d", MaxVectorStoreResults, limit)
	}
	filter, err := ragd.ParseOpenAIFilter(q.Param+"filters", q.Filters)
	if err != nil {
		return nil, nil, err
	}
	var threshold *float64
	var rr *rerank.Options
	if o := q.Ranking; o != nil {
		if !rankers[o.Ranker] {
			return nil, nil, ragd.Invalid(q.Param+"ranking_options.ranker", `ranker must be "auto", "none" or "default-2024-11-15", got %q`, o.Ranker)
		}
		if th := o.ScoreThreshold; th != nil && (*th < 0 || *th > 1) {
			return nil, nil, ragd.Invalid(q.Param+"ranking_options.score_threshold", "score_threshold must be between 0 and 1, got %v", *th)
		}
		threshold = o.ScoreThreshold
		if o.Ranker == rerank.NoModel {
			rr = &rerank.Options{Model: rerank.NoModel}
		}
	}
	if len(ids) == 0 {
		return nil, nil, ragd.Invalid(q.Param+"vector_store_ids", "name at least one vector store to search")
	}
	if len(ids) > MaxSearchedStores {
		return nil, nil, ragd.Invalid(q.Param+"vector_store_ids", "a search covers at most %d vector stores, got %d", MaxSearchedStores, len(ids))
	}
	if len(q.Queries) > MaxSearchQueries {
		return nil, nil, ragd.Invalid(q.Param+"query", "query lists at most %d queries, got %d", MaxSearchQueries, len(q.Queries))
	}
	var queries []string
	for _, text := range q.Queries {
		if strings.TrimSpace(text) != "" {
			queries = append(queries, text)
		}
	}
	if len(queries) == 0 {
		return nil, nil, ragd.Invalid(q.Param+"query", "query is required: the text to search for")
	}
	best := map[string]VectorStoreResult{} // by chunk ID
	var tokens Tokens
	for i, id := range ids {
		col, err := s.activeCollection(ctx, ws, id)
		if err != nil {
			var e *ragd.Error
			if errors.As(err, &e) && (q.Param != "" || len(ids) > 1) {
				e.Param = fmt.Sprintf("%svector_store_ids[%d]", q.Param, i)
			}
			return nil, nil, err
		}
		for _, text := range queries {
			res, n, err := s.Search(ctx, ws, col.ID, SearchRequest{Input: text, Query: ragd.SearchQuery{Mode: ragd.ModeHybrid,
				TopK: limit, Filter: filter, ScoreThreshold: threshold}, Rerank: rr})
			tokens = tokens.Merge(n)
			if err != nil {
				return nil, tokens, err
			}
			for _, r := range res {
				if r.RerankScore != nil {
					// OpenAI's results have one score, the ranker's, which
					// the threshold bounds too.
					if r.Score = *r.RerankScore; threshold != nil && r.Score < *threshold {
						continue
					}
				}
				if old, ok := best[r.ID]; !ok || r.Score > old.Source.Score {
					best[r.ID] = VectorStoreResult{CollectionID: col.ID, Source: r}
				}
			}
		}
		if err := s.touch(ctx, col); err != nil {
			return nil, tokens, err
		}
	}
	out := make([]VectorStoreResult, 0, len(best))
	for _, r := range best {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b VectorStoreResult) int {
		if a.Source.Score != b.Source.Score {
			return cmp.Compare(b.Source.Score, a.Source.Score)
		}
		return strings.Compare(a.Source.ID, b.Source.ID)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	if err := s.nameFiles(ctx, out); err != nil {
		return nil, tokens, err
	}
	return out, tokens, nil
}

// activityResolution is how stale a vector store's last_active_at may
// get before a search records a new one: a write per search would be
// too many.
const activityResolution = 60

// touch records that collection col was active now.
func (s *Service) touch(ctx context.Context, col *ragd.Collection) error {
	now := s.now().Unix()
	if now-col.LastActive < activityResolution {
		return nil
	}
	return s.write.TouchCollection(ctx, col.Workspace, col.ID, now)
}

// nameFiles sets each result's FileID to the ID its file is known by
// through the vector store API, and its Filename.
func (s *Service) nameFiles(ctx context.Context, res []VectorStoreResult) error {
	byCol := map[string][]string{}
	for i := range res {
		if f := res[i].Source.FileID; f != nil {
			res[i].FileID = *f
			byCol[res[i].CollectionID] = append(byCol[res[i].CollectionID], *f)
		}
		if f := res[i].Source.Filename; f != nil {
			res[i].Filename = *f
		}
	}
	for colID, files := range byCol {
		src, err := s.store.SourceIDs(ctx, colID, files)
		if err != nil {
			return err
		}
		for i := range res {
			if id, ok := src[res[i].FileID]; ok && res[i].CollectionID == colID {
				res[i].FileID = id
			}
		}
	}
	return nil
}

// OpenAI's limits on what a client attaches to vector stores and files.
const (
	// MaxAttributes is the most attributes of a vector store file, and
	// the most metadata pairs of a vector store.
	MaxAttributes = 16
	// MaxAttributeKey is the longest attribute or metadata key.
	MaxAttributeKey = 64
	// MaxAttributeString is the longest string attribute value.
	MaxAttributeString = 512
	// MaxExpiryDays is the longest expires_after.
	MaxExpiryDays = 365
)

// ValidateAttributes checks a vector store file's attributes, found at
// param: at most MaxAttributes keys of at most MaxAttributeKey
// characters, each value a string of at most MaxAttributeString
// characters, a number or a boolean. With stringsOnly (a vector store's
// metadata), every value must be a string.
func ValidateAttributes(param string, attrs map[string]any, stringsOnly bool) error {
	if len(attrs) > MaxAttributes {
		return ragd.Invalid(param, "%s may have at most %d keys, got %d", param, MaxAttributes, len(attrs))
	}
	for k, v := range attrs {
		if k == "" || len([]rune(k)) > MaxAttributeKey {
			return ragd.Invalid(param, "%s keys must have 1 to %d characters, got %q", param, MaxAttributeKey, k)
		}
		switch x := v.(type) {
		case string:
			if len([]rune(x)) > MaxAttributeString {
				return ragd.Invalid(param+"."+k, "%s.%s has %d characters; at most %d", param, k, len([]rune(x)), MaxAttributeString)
			}
			continue
		case float64, bool:
			if !stringsOnly {
				continue
			}
		}
		if stringsOnly {
			return ragd.Invalid(param+"."+k, "%s.%s must be a string", param, k)
		}
		return ragd.Invalid(param+"."+k, "%s.%s must be a string, a number or a boolean", param, k)
	}
	return ragd.ValidateMetadata(param, attrs)
}

// StaticChunking returns the chunking of OpenAI's static chunking
// strategy, checked: max_chunk_size_tokens 100..4096 and
// chunk_overlap_tokens at most half of it. param prefixes the field names
// in errors.
func StaticChunking(param string, maxTokens, overlapTokens int) (*ragd.Chunking, error) {
	if maxTokens < 100 || maxTokens > 4096 {
		return nil, ragd.Invalid(param+"max_chunk_size_tokens", "max_chunk_size_tokens must be between 100 and 4096, got %d", maxTokens)
	}
	if overlapTokens < 0 || overlapTokens > maxTokens/2 {
		return nil, ragd.Invalid(param+"chunk_overlap_tokens", "chunk_overlap_tokens must be between 0 and half of max_chunk_size_tokens (%d), got %d", maxTokens/2, overlapTokens)
	}
	return &ragd.Chunking{MaxTokens: maxTokens, OverlapTokens: overlapTokens}, nil
}

// NewVectorStore is a vector store to create through OpenAI's API.
type NewVectorStore struct {
	Name     string
	Metadata map[string]any
	// ExpiresAfterDays, when above 0, is expires_after.days.
	ExpiresAfterDays int
	// Files are attached once the store exists.
	Files []Attachment
}

// Attachment is a workspace file to attach to a vector store.
type Attachment struct {
	// FileID is the workspace file's ID.
	FileID     string
	Attributes map[string]any
	// Chunking is the static chunking strategy; nil means "auto", the
	// collection's chunking.
	Chunking *ragd.Chunking
	// Param names the attachment in errors ("file_ids[2]").
	Param string
}

// CreateVectorStore creates a collection of workspace ws for nv with the
// default embedding model and attaches nv's files, which are checked
// first so that a bad one leaves nothing behind. A vector store's name
// need not be unique, a collection's must: a name taken by another
// collection gets a random suffix, and a missing one is made up.
func (s *Service) CreateVectorStore(ctx context.Context, ws string, nv NewVectorStore) (*ragd.Collection, error) {
	if err := ValidateAttributes("metadata", nv.Metadata, true); err != nil {
		return nil, err
	}
	if nv.ExpiresAfterDays < 0 || nv.ExpiresAfterDays > MaxExpiryDays {
		return nil, ragd.Invalid("expires_after.days", "expires_after.days must be between 1 and %d, got %d", MaxExpiryDays, nv.ExpiresAfterDays)
	}
	if len(nv.Files) > MaxAttachFiles {
		return nil, ragd.Invalid("file_ids", "a vector store is created with at most %d files, got %d; add more with file batches", MaxAttachFiles, len(nv.Files))
	}
	for _, a := range nv.Files {
		if _, err := s.checkAttachment(ctx, ws, a); err != nil {
			return nil, err
		}
	}
	suffix := strings.TrimPrefix(ragd.NewID("col"), "col_")
	name := nv.Name
	if name == "" {
		name = "vector-store-" + suffix
	}
	nc := NewCollection{Name: name, Metadata: nv.Metadata, ExpiresAfterDays: nv.ExpiresAfterDays}
	col, err := s.CreateCollection(ctx, ws, nc)
	var e *ragd.Error
	if errors.As(err, &e) && e.Kind == ragd.ECONFLICT {
		nc.Name = name + " (" + suffix + ")"
		col, err = s.CreateCollection(ctx, ws, nc)
	}
	if err != nil {
		return nil, err
	}
	for _, a := range nv.Files {
		if _, err := s.AttachFile(ctx, ws, col.ID, a, ""); err != nil {
			return nil, err
		}
	}
	return s.store.Collection(ctx, ws, col.ID)
}

// checkAttachment checks a's attributes and returns its file, which must
// be one of workspace ws.
func (s *Service) checkAttachment(ctx context.Context, ws string, a Attachment) (*ragd.WorkspaceFile, error) {
	if err := ValidateAttributes(a.Param+"attributes", a.Attributes, false); err != nil {
		return nil, err
	}
	wf, err := s.store.WorkspaceFile(ctx, ws, a.FileID)
	var e *ragd.Error
	if errors.As(err, &e) && e.Kind == ragd.ENOTFOUND {
		e.Param = a.Param + "file_id"
	}
	return wf, err
}

// AttachFile attaches workspace file a.FileID to vector store colID of
// workspace ws (in batch, if not empty), queueing the ingest of a copy of
// its bytes, and returns the vector store file. Attaching a file
// attached already returns it as it is.
func (s *Service) AttachFile(ctx context.Context, ws, colID string, a Attachment, batch string) (*ragd.VectorStoreFile, error) {
	wf, err := s.checkAttachment(ctx, ws, a)
	if err != nil {
		return nil, err
	}
	col, err := s.activeCollection(ctx, ws, colID)
	if err != nil {
		return nil, err
	}
	if v, err := s.store.VectorStoreFile(ctx, ws, col.ID, a.FileID); err == nil && batch == "" {
		return v, nil
	}
	emb, err := s.embedders.ForCollection(col)
	if err != nil {
		return nil, err
	}
	chunking := col.Chunking
	if a.Chunking != nil {
		chunking = *a.Chunking
	}
	chunking.MaxTokens = min(chunking.MaxTokens, emb.MaxInputTokens())
	chunking.OverlapTokens = min(chunking.OverlapTokens, chunking.MaxTokens/2)
	up, err := s.ingester.Copy(ctx, wf.ID, wf.Bytes, wf.SHA256)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.ingester.Add(ctx, ws, col.ID, up, NewFile{Filename: wf.Filename, Metadata: a.Attributes, Chunking: chunking,
		Source: wf.ID, Batch: batch}); err != nil {
		return nil, err
	}
	return s.store.VectorStoreFile(ctx, ws, col.ID, wf.ID)
}

// activeCollection returns collection id of workspace ws, or an EINVALID
// error when its contents expired.
func (s *Service) activeCollection(ctx context.Context, ws, id string) (*ragd.Collection, error) {
	col, err := s.store.Collection(ctx, ws, id)
	if err != nil {
		return nil, err
	}
	if col.ExpiredAt != 0 {
		return nil, &ragd.Error{Kind: ragd.EINVALID, Code: "vector_store_expired", Param: "vector_store_id",
			Message: fmt.Sprintf("the vector store %s expired on %s (expires_after); create a new one", col.ID, time.Unix(col.ExpiredAt, 0).UTC().Format(time.RFC3339))}
	}
	return col, nil
}

// VectorStoreFiles returns the files of vector store colID of workspace
// ws, oldest first.
func (s *Service) VectorStoreFiles(ctx context.Context, ws, colID string) ([]*ragd.VectorStoreFile, error) {
	return s.store.VectorStoreFiles(ctx, ws, colID)
}

// VectorStoreFile returns file id of vector store colID, or ENOTFOUND.
func (s *Service) VectorStoreFile(ctx context.Context, ws, colID, id string) (*ragd.VectorStoreFile, error) {
	return s.store.VectorStoreFile(ctx, ws, colID, id)
}

// FileCounts counts the files of vector store colID by status.
func (s *Service) FileCounts(ctx context.Context, ws, colID string) (ragd.FileCounts, error) {
	return s.store.FileCounts(ctx, ws, colID)
}

// UpdateFileAttributes replaces the attributes of file id of vector store
// colID of workspace ws, in the file and its items (so filters see them
// at once).
func (s *Service) UpdateFileAttributes(ctx context.Context, ws, colID, id string, attrs map[string]any) (*ragd.VectorStoreFile, error) {
	if err := ValidateAttributes("attributes", attrs, false); err != nil {
		return nil, err
	}
	v, err := s.store.VectorStoreFile(ctx, ws, colID, id)
	if err != nil {
		return nil, err
	}
	if attrs == nil {
		attrs = map[string]any{}
	}
	if v.File, err = s.write.SetFileMetadata(ctx, ws, colID, v.File.ID, attrs, s.now().Unix()); err != nil {
		return nil, err
	}
	return v, nil
}

// DetachFile removes file id from vector store colID of workspace ws; the
// workspace file stays.
func (s *Service) DetachFile(ctx context.Context, ws, colID, id string) error {
	deleted, err := s.write.DetachFile(ctx, ws, colID, id, s.now().Unix())
	if err == nil {
		s.ingester.Forget(deleted)
	}
	return err
}

// FileTexts returns the text ingest extracted from file id of vector store
// colID, by item in document order.
func (s *Service) FileTexts(ctx context.Context, ws, colID, id string) ([]string, error) {
	v, err := s.store.VectorStoreFile(ctx, ws, colID, id)
	if err != nil {
		return nil, err
	}
	return s.store.FileTexts(ctx, v.File.ID)
}

// VectorStoreUpdate is a change of a vector store; nil fields stay.
type VectorStoreUpdate struct {
	Name     *string
	Metadata map[string]any
	// ExpiresAfterDays replaces the expiry; 0 removes it.
	ExpiresAfterDays *int
}

// UpdateVectorStore applies u to vector store id of workspace ws.
func (s *Service) UpdateVectorStore(ctx context.Context, ws, id string, u VectorStoreUpdate) (*ragd.Collection, error) {
	if u.Metadata != nil {
		if err := ValidateAttributes("metadata", u.Metadata, true); err != nil {
			return nil, err
		}
	}
	if d := u.ExpiresAfterDays; d != nil && (*d < 0 || *d > MaxExpiryDays) {
		return nil, ragd.Invalid("expires_after.days", "expires_after.days must be between 1 and %d, got %d", MaxExpiryDays, *d)
	}
	return s.UpdateCollection(ctx, ws, id, ragd.CollectionUpdate{Name: u.Name, Metadata: u.Metadata, ExpiresAfterDays: u.ExpiresAfterDays})
}

// CreateFileBatch attaches files to vector store colID of workspace ws as
// one batch, all checked first, and returns the batch.
func (s *Service) CreateFileBatch(ctx context.Context, ws, colID string, files []Attachment) (*ragd.FileBatch, error) {
	if len(files) == 0 {
		return nil, ragd.Invalid("file_ids", "name at least one file: file_ids or files")
	}
	if len(files) > MaxAttachFiles {
		return nil, ragd.Invalid("file_ids", "a batch holds at most %d files, got %d; split it", MaxAttachFiles, len(files))
	}
	col, err := s.activeCollection(ctx, ws, colID)
	if err != nil {
		return nil, err
	}
	for _, a := range files {
		if _, err := s.checkAttachment(ctx, ws, a); err != nil {
			return nil, err
		}
	}
	b := &ragd.FileBatch{ID: "vsfb_" + strings.TrimPrefix(ragd.NewID("b"), "b_"), CollectionID: col.ID, Created: s.now().Unix()}
	if err := s.write.CreateFileBatch(ctx, ws, b); err != nil {
		return nil, err
	}
	for _, a := range files {
		if _, err := s.AttachFile(ctx, ws, col.ID, a, b.ID); err != nil {
			return nil, err
		}
	}
	return s.store.FileBatch(ctx, ws, col.ID, b.ID)
}

// FileBatch returns batch id of vector store colID with its files (nil
// for a file a cancellation removed), in the order they were added.
func (s *Service) FileBatch(ctx context.Context, ws, colID, id string) (*ragd.FileBatch, []*ragd.VectorStoreFile, error) {
	b, err := s.store.FileBatch(ctx, ws, colID, id)
	if err != nil {
		return nil, nil, err
	}
	files := make([]*ragd.VectorStoreFile, len(b.Files))
	for i, f := range b.Files {
		files[i], err = s.store.VectorStoreFile(ctx, ws, colID, f)
		var e *ragd.Error
		if errors.As(err, &e) && e.Kind == ragd.ENOTFOUND {
			files[i], err = nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return b, files, nil
}

// CancelFileBatch cancels batch id of vector store colID: its files whose
// ingest has not ended are removed.
func (s *Service) CancelFileBatch(ctx context.Context, ws, colID, id string) error {
	deleted, err := s.write.CancelFileBatch(ctx, ws, colID, id, s.now().Unix())
	if err == nil {
		s.ingester.Forget(deleted)
	}
	return err
}

// ExpireVectorStores deletes the contents of the vector stores whose
// expires_after has passed, as of now.
func (s *Service) ExpireVectorStores(ctx context.Context) error {
	if s.ingester == nil {
		return nil // no files, no vector stores
	}
	now := s.now().Unix()
	due, err := s.store.DueExpiries(ctx, now)
	if err != nil {
		return err
	}
	for _, c := range due {
		deleted, err := s.write.ExpireCollection(ctx, c.Workspace, c.ID, now)
		if err != nil {
			return err
		}
		s.ingester.Forget(deleted)
		s.log.Info("vector store expired", "workspace", c.Workspace, "collection_id", c.ID, "files", len(deleted))
	}
	return nil
}
