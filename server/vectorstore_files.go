package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/rag"
	"github.com/ragd/ragd/service"
)

// Vector store files, file batches and search in OpenAI's terms.

// fileLastError is a vector store file's last_error.
type fileLastError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// openAIVectorStoreFile is OpenAI's vector store file object.
type openAIVectorStoreFile struct {
	ID               string           `json:"id"`
	Object           string           `json:"object"`
	UsageBytes       int64            `json:"usage_bytes"`
	CreatedAt        int64            `json:"created_at"`
	VectorStoreID    string           `json:"vector_store_id"`
	Status           string           `json:"status"`
	LastError        *fileLastError   `json:"last_error"`
	ChunkingStrategy chunkingStrategy `json:"chunking_strategy"`
	Attributes       map[string]any   `json:"attributes"`
}

// openAIFileStatus is the OpenAI status of a file of ragd status status.
func openAIFileStatus(status string) string {
	switch status {
	case ragd.FileCompleted, ragd.FileFailed:
		return status
	}
	return "in_progress"
}

func showVectorStoreFile(colID string, v *ragd.VectorStoreFile) openAIVectorStoreFile {
	o := openAIVectorStoreFile{ID: v.ID, Object: "vector_store.file", CreatedAt: v.Created, VectorStoreID: colID, Status: "cancelled",
		ChunkingStrategy: chunkingStrategy{Type: "other"}, Attributes: map[string]any{}}
	f := v.File
	if f == nil {
		return o
	}
	o.Status, o.UsageBytes, o.Attributes = openAIFileStatus(f.Status), f.Bytes, f.Metadata
	if o.Attributes == nil {
		o.Attributes = map[string]any{}
	}
	o.ChunkingStrategy.Type = "static"
	o.ChunkingStrategy.Static = &struct {
		MaxChunkSizeTokens int `json:"max_chunk_size_tokens"`
		ChunkOverlapTokens int `json:"chunk_overlap_tokens"`
	}{f.Chunking.MaxTokens, f.Chunking.OverlapTokens}
	if f.Status == ragd.FileFailed && f.Error != nil {
		code := "invalid_file"
		switch f.Error.Code {
		case ragd.EINTERNAL, ragd.EUNAVAILABLE, ragd.ETIMEOUT, "ingest_timeout":
			code = "server_error"
		case ragd.EUNSUPPORTED:
			code = "unsupported_file"
		}
		o.LastError = &fileLastError{Code: code, Message: f.Error.Message}
	}
	return o
}

type vectorStoreFileRequest struct {
	FileID           string            `json:"file_id"`
	Attributes       map[string]any    `json:"attributes"`
	ChunkingStrategy *chunkingStrategy `json:"chunking_strategy"`
}

// attachment returns the service's attachment of a request's file, its
// fields named under param in errors.
func (r *vectorStoreFileRequest) attachment(param string) (service.Attachment, error) {
	if r.FileID == "" {
		return service.Attachment{}, ragd.Invalid(param+"file_id", "file_id is required: the id of a file uploaded to /v1/files")
	}
	chunking, err := r.ChunkingStrategy.chunking(param + "chunking_strategy")
	return service.Attachment{FileID: r.FileID, Attributes: r.Attributes, Chunking: chunking, Param: param}, err
}

func (s *Server) handleVectorStoreFileCreate(c echo.Context) error {
	var req vectorStoreFileRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	a, err := req.attachment("")
	if err != nil {
		return err
	}
	colID := c.Param("id")
	v, err := s.svc.AttachFile(c.Request().Context(), workspaceOf(c), colID, a, "")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, showVectorStoreFile(colID, v))
}

// statusFilter returns the ?filter= of a list of vector store files: one
// of OpenAI's statuses, or "" for all.
func statusFilter(c echo.Context) (string, error) {
	switch f := c.QueryParam("filter"); f {
	case "", "in_progress", "completed", "failed", "cancelled":
		return f, nil
	default:
		return "", ragd.Invalid("filter", "filter must be in_progress, completed, failed or cancelled, got %q", f)
	}
}

// fileList answers a list of vector store files of collection colID,
// filtered by ?filter=.
func fileList(c echo.Context, colID string, files []*ragd.VectorStoreFile) error {
	want, err := statusFilter(c)
	if err != nil {
		return err
	}
	var shown []openAIVectorStoreFile
	for _, v := range files {
		if o := showVectorStoreFile(colID, v); want == "" || o.Status == want {
			shown = append(shown, o)
		}
	}
	return openAIPage(c, shown, func(o openAIVectorStoreFile) string { return o.ID },
		func(o openAIVectorStoreFile) (openAIVectorStoreFile, error) { return o, nil }, 20, 100)
}

func (s *Server) handleVectorStoreFileList(c echo.Context) error {
	col, err := s.svc.Collection(c.Request().Context(), workspaceOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	files, err := s.svc.VectorStoreFiles(c.Request().Context(), workspaceOf(c), col.ID)
	if err != nil {
		return err
	}
	return fileList(c, col.ID, files)
}

func (s *Server) handleVectorStoreFileGet(c echo.Context) error {
	v, err := s.svc.VectorStoreFile(c.Request().Context(), workspaceOf(c), c.Param("id"), c.Param("fileid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, showVectorStoreFile(v.File.CollectionID, v))
}

func (s *Server) handleVectorStoreFileUpdate(c echo.Context) error {
	var req struct {
		Attributes map[string]any `json:"attributes"`
	}
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	v, err := s.svc.UpdateFileAttributes(c.Request().Context(), workspaceOf(c), c.Param("id"), c.Param("fileid"), req.Attributes)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, showVectorStoreFile(v.File.CollectionID, v))
}

func (s *Server) handleVectorStoreFileDelete(c echo.Context) error {
	id := c.Param("fileid")
	if err := s.svc.DetachFile(c.Request().Context(), workspaceOf(c), c.Param("id"), id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, openAIDeleted{ID: id, Object: "vector_store.file.deleted", Deleted: true})
}

// textContent is one text part of OpenAI's content lists.
type textContent struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func (s *Server) handleVectorStoreFileContent(c echo.Context) error {
	texts, err := s.svc.FileTexts(c.Request().Context(), workspaceOf(c), c.Param("id"), c.Param("fileid"))
	if err != nil {
		return err
	}
	data := make([]textContent, len(texts))
	for i, t := range texts {
		data[i] = textContent{Type: "text", Text: t}
	}
	return c.JSON(http.StatusOK, map[string]any{"object": "vector_store.file_content.page", "data": data, "has_more": false, "next_page": nil})
}

// openAIFileBatch is OpenAI's vector store file batch object.
type openAIFileBatch struct {
	ID            string          `json:"id"`
	Object        string          `json:"object"`
	CreatedAt     int64           `json:"created_at"`
	VectorStoreID string          `json:"vector_store_id"`
	Status        string          `json:"status"`
	FileCounts    ragd.FileCounts `json:"file_counts"`
}

func showFileBatch(b *ragd.FileBatch, files []*ragd.VectorStoreFile) openAIFileBatch {
	o := openAIFileBatch{ID: b.ID, Object: "vector_store.files_batch", CreatedAt: b.Created, VectorStoreID: b.CollectionID}
	for _, v := range files {
		if v == nil || v.File == nil {
			o.FileCounts.Add("", 1)
		} else {
			o.FileCounts.Add(v.File.Status, 1)
		}
	}
	switch {
	case b.CancelledAt != 0:
		o.Status = "cancelled"
	case o.FileCounts.InProgress > 0:
		o.Status = "in_progress"
	case o.FileCounts.Total > 0 && o.FileCounts.Failed == o.FileCounts.Total:
		o.Status = "failed"
	default:
		o.Status = "completed"
	}
	return o
}

func (s *Server) handleFileBatchCreate(c echo.Context) error {
	var req struct {
		FileIDs          []string                 `json:"file_ids"`
		Files            []vectorStoreFileRequest `json:"files"`
		Attributes       map[string]any           `json:"attributes"`
		ChunkingStrategy *chunkingStrategy        `json:"chunking_strategy"`
	}
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	if len(req.FileIDs) > 0 && len(req.Files) > 0 {
		return ragd.Invalid("files", "send file_ids or files, not both")
	}
	var list []service.Attachment
	for i, id := range req.FileIDs {
		r := vectorStoreFileRequest{FileID: id, Attributes: req.Attributes, ChunkingStrategy: req.ChunkingStrategy}
		a, err := r.attachment("file_ids[" + strconv.Itoa(i) + "].")
		if err != nil {
			return err
		}
		list = append(list, a)
	}
	for i, r := range req.Files {
		a, err := r.attachment("files[" + strconv.Itoa(i) + "].")
		if err != nil {
			return err
		}
		list = append(list, a)
	}
	ctx, ws := c.Request().Context(), workspaceOf(c)
	b, err := s.svc.CreateFileBatch(ctx, ws, c.Param("id"), list)
	if err != nil {
		return err
	}
	return s.answerFileBatch(c, b.CollectionID, b.ID)
}

func (s *Server) answerFileBatch(c echo.Context, colID, id string) error {
	b, files, err := s.svc.FileBatch(c.Request().Context(), workspaceOf(c), colID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, showFileBatch(b, files))
}

func (s *Server) handleFileBatchGet(c echo.Context) error {
	return s.answerFileBatch(c, c.Param("id"), c.Param("batchid"))
}

func (s *Server) handleFileBatchCancel(c echo.Context) error {
	if err := s.svc.CancelFileBatch(c.Request().Context(), workspaceOf(c), c.Param("id"), c.Param("batchid")); err != nil {
		return err
	}
	return s.answerFileBatch(c, c.Param("id"), c.Param("batchid"))
}

func (s *Server) handleFileBatchFiles(c echo.Context) error {
	b, files, err := s.svc.FileBatch(c.Request().Context(), workspaceOf(c), c.Param("id"), c.Param("batchid"))
	if err != nil {
		return err
	}
	for i, v := range files {
		if v == nil {
			files[i] = &ragd.VectorStoreFile{ID: b.Files[i], Created: b.Created}
		}
	}
	return fileList(c, b.CollectionID, files)
}

// vectorStoreSearchRequest is the body of a vector store search.
type vectorStoreSearchRequest struct {
	Query          json.RawMessage     `json:"query"`
	MaxNumResults  *int                `json:"max_num_results"`
	Filters        json.RawMessage     `json:"filters"`
	RankingOptions *rag.RankingOptions `json:"ranking_options"`
	// RewriteQuery asks OpenAI to rewrite the query with a model; ragd
	// searches the query as it is and shows it in search_query.
	RewriteQuery bool `json:"rewrite_query"`
}

// searchResult is one result of a vector store search.
type searchResult struct {
	FileID     string         `json:"file_id"`
	Filename   string         `json:"filename"`
	Score      float64        `json:"score"`
	Attributes map[string]any `json:"attributes"`
	Content    []textContent  `json:"content"`
}

func (s *Server) handleVectorStoreSearch(c echo.Context) error {
	var req vectorStoreSearchRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	var queries []string
	if err := json.Unmarshal(req.Query, &queries); err != nil {
		var one string
		if err := json.Unmarshal(req.Query, &one); err != nil {
			return ragd.Invalid("query", "query must be a string or a list of strings")
		}
		queries = []string{one}
	}
	q := service.VectorStoreQuery{Queries: queries, MaxResults: req.MaxNumResults, Filters: req.Filters, Ranking: req.RankingOptions}
	res, tokens, err := s.svc.SearchVectorStores(c.Request().Context(), workspaceOf(c), []string{c.Param("id")}, q)
	addModelTokens(c, tokens)
	if err != nil {
		return err
	}
	data := make([]searchResult, len(res))
	for i, r := range res {
		data[i] = searchResult{FileID: r.FileID, Filename: r.Filename, Score: r.Source.Score, Attributes: r.Source.Metadata,
			Content: []textContent{{Type: "text", Text: r.Source.Content}}}
		if data[i].Attributes == nil {
			data[i].Attributes = map[string]any{}
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"object": "vector_store.search_results.page", "search_query": queries,
		"data": data, "has_more": false, "next_page": nil})
}
