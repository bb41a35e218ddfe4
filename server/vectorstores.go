package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/service"
)

// OpenAI's Vector Stores API (/v1/vector_stores): a vector store is a
// ragd collection, its files the collection's files, known by the IDs of
// the workspace files (/v1/files) they were attached as.

func (s *Server) registerVectorStoreRoutes(g *echo.Group) {
	g.POST("/vector_stores", s.handleVectorStoreCreate, pollAfter)
	g.GET("/vector_stores", s.handleVectorStoreList, pollAfter)
	g.GET("/vector_stores/:id", s.handleVectorStoreGet, pollAfter)
	g.POST("/vector_stores/:id", s.handleVectorStoreModify, pollAfter)
	g.DELETE("/vector_stores/:id", s.handleVectorStoreDelete, pollAfter)
	g.POST("/vector_stores/:id/search", s.handleVectorStoreSearch, pollAfter)
	g.POST("/vector_stores/:id/files", s.handleVectorStoreFileCreate, pollAfter)
	g.GET("/vector_stores/:id/files", s.handleVectorStoreFileList, pollAfter)
	g.GET("/vector_stores/:id/files/:fileid", s.handleVectorStoreFileGet, pollAfter)
	g.POST("/vector_stores/:id/files/:fileid", s.handleVectorStoreFileUpdate, pollAfter)
	g.DELETE("/vector_stores/:id/files/:fileid", s.handleVectorStoreFileDelete, pollAfter)
	g.GET("/vector_stores/:id/files/:fileid/content", s.handleVectorStoreFileContent, pollAfter)
	g.POST("/vector_stores/:id/file_batches", s.handleFileBatchCreate, pollAfter)
	g.GET("/vector_stores/:id/file_batches/:batchid", s.handleFileBatchGet, pollAfter)
	g.POST("/vector_stores/:id/file_batches/:batchid/cancel", s.handleFileBatchCancel, pollAfter)
	g.GET("/vector_stores/:id/file_batches/:batchid/files", s.handleFileBatchFiles, pollAfter)
}

// pollAfterMs is the openai-poll-after-ms header of the vector store
// routes: how long the SDKs' poll helpers (createAndPoll, uploadAndPoll)
// wait before asking again whether a file is ingested. Without it they
// wait 5 s; ragd ingests a typical file in well under that.
const pollAfterMs = "200"

// pollAfter sets the openai-poll-after-ms header.
func pollAfter(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Openai-Poll-After-Ms", pollAfterMs)
		return next(c)
	}
}

// expiresAfter is a vector store's expiry policy in OpenAI's terms.
type expiresAfter struct {
	Anchor string `json:"anchor"`
	Days   int    `json:"days"`
}

// openAIVectorStore is OpenAI's vector store object.
type openAIVectorStore struct {
	ID           string          `json:"id"`
	Object       string          `json:"object"`
	CreatedAt    int64           `json:"created_at"`
	Name         string          `json:"name"`
	Description  *string         `json:"description"`
	UsageBytes   int64           `json:"usage_bytes"`
	FileCounts   ragd.FileCounts `json:"file_counts"`
	Status       string          `json:"status"`
	ExpiresAfter *expiresAfter   `json:"expires_after"`
	ExpiresAt    *int64          `json:"expires_at"`
	LastActiveAt *int64          `json:"last_active_at"`
	Metadata     map[string]any  `json:"metadata"`
}

// showVectorStore returns collection col as a vector store with its file
// counts.
func (s *Server) showVectorStore(c echo.Context, col *ragd.Collection) (openAIVectorStore, error) {
	counts, err := s.svc.FileCounts(c.Request().Context(), col.Workspace, col.ID)
	if err != nil {
		return openAIVectorStore{}, err
	}
	v := openAIVectorStore{ID: col.ID, Object: "vector_store", CreatedAt: col.Created, Name: col.Name, UsageBytes: col.Bytes,
		FileCounts: counts, Status: "completed", LastActiveAt: &col.LastActive, Metadata: col.Metadata}
	if col.Description != "" {
		v.Description = &col.Description
	}
	switch {
	case col.ExpiredAt != 0:
		v.Status = "expired"
	case counts.InProgress > 0:
		v.Status = "in_progress"
	}
	if col.ExpiresAfterDays > 0 {
		at := col.ExpiresAt()
		v.ExpiresAfter, v.ExpiresAt = &expiresAfter{Anchor: "last_active_at", Days: col.ExpiresAfterDays}, &at
	}
	return v, nil
}

// chunkingStrategy is OpenAI's chunking_strategy, in a request and in a
// vector store file.
type chunkingStrategy struct {
	Type   string `json:"type"`
	Static *struct {
		MaxChunkSizeTokens int `json:"max_chunk_size_tokens"`
		ChunkOverlapTokens int `json:"chunk_overlap_tokens"`
	} `json:"static,omitempty"`
}

// chunking returns the chunking a request's strategy asks for, nil for
// "auto" or none; param prefixes the field names in errors.
func (cs *chunkingStrategy) chunking(param string) (*ragd.Chunking, error) {
	if cs == nil {
		return nil, nil
	}
	switch cs.Type {
	case "auto":
		return nil, nil
	case "static":
		if cs.Static == nil {
			return nil, ragd.Invalid(param+".static", "a static chunking_strategy needs static: {max_chunk_size_tokens, chunk_overlap_tokens}")
		}
		return service.StaticChunking(param+".static.", cs.Static.MaxChunkSizeTokens, cs.Static.ChunkOverlapTokens)
	}
	return nil, ragd.Invalid(param+".type", "chunking_strategy.type must be auto or static, got %q", cs.Type)
}

type vectorStoreCreateRequest struct {
	Name             *string           `json:"name"`
	Description      *string           `json:"description"`
	FileIDs          []string          `json:"file_ids"`
	ChunkingStrategy *chunkingStrategy `json:"chunking_strategy"`
	Metadata         map[string]any    `json:"metadata"`
	ExpiresAfter     *expiresAfter     `json:"expires_after"`
}

// days returns the days of an expires_after, checked (0: none).
func (e *expiresAfter) days() (int, error) {
	if e == nil {
		return 0, nil
	}
	if e.Anchor != "last_active_at" {
		return 0, ragd.Invalid("expires_after.anchor", `expires_after.anchor must be "last_active_at", got %q`, e.Anchor)
	}
	if e.Days < 1 || e.Days > service.MaxExpiryDays {
		return 0, ragd.Invalid("expires_after.days", "expires_after.days must be between 1 and %d, got %d", service.MaxExpiryDays, e.Days)
	}
	return e.Days, nil
}

func (s *Server) handleVectorStoreCreate(c echo.Context) error {
	var req vectorStoreCreateRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	chunking, err := req.ChunkingStrategy.chunking("chunking_strategy")
	if err != nil {
		return err
	}
	days, err := req.ExpiresAfter.days()
	if err != nil {
		return err
	}
	nv := service.NewVectorStore{Metadata: req.Metadata, ExpiresAfterDays: days}
	if req.Name != nil {
		nv.Name = *req.Name
	}
	for i, id := range req.FileIDs {
		nv.Files = append(nv.Files, service.Attachment{FileID: id, Chunking: chunking, Param: "file_ids[" + strconv.Itoa(i) + "]."})
	}
	col, err := s.svc.CreateVectorStore(c.Request().Context(), workspaceOf(c), nv)
	if err != nil {
		return err
	}
	if req.Description != nil {
		if col, err = s.svc.UpdateCollection(c.Request().Context(), workspaceOf(c), col.ID, ragd.CollectionUpdate{Description: req.Description}); err != nil {
			return err
		}
	}
	return s.answerVectorStore(c, col)
}

func (s *Server) answerVectorStore(c echo.Context, col *ragd.Collection) error {
	v, err := s.showVectorStore(c, col)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) handleVectorStoreList(c echo.Context) error {
	ctx, ws := c.Request().Context(), workspaceOf(c)
	var all []*ragd.Collection
	for p := (ragd.Page{Limit: 1000}); ; {
		page, more, err := s.svc.Collections(ctx, ws, p)
		if err != nil {
			return err
		}
		all = append(all, page...)
		if !more {
			break
		}
		p.After = page[len(page)-1].ID
	}
	// Only the page's stores are shown, each with its file counts.
	return openAIPage(c, all, func(col *ragd.Collection) string { return col.ID },
		func(col *ragd.Collection) (openAIVectorStore, error) { return s.showVectorStore(c, col) }, 20, 100)
}

func (s *Server) handleVectorStoreGet(c echo.Context) error {
	col, err := s.svc.Collection(c.Request().Context(), workspaceOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return s.answerVectorStore(c, col)
}

type vectorStoreModifyRequest struct {
	Name         *string         `json:"name"`
	Metadata     map[string]any  `json:"metadata"`
	ExpiresAfter json.RawMessage `json:"expires_after"`
}

func (s *Server) handleVectorStoreModify(c echo.Context) error {
	var req vectorStoreModifyRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	u := service.VectorStoreUpdate{Name: req.Name, Metadata: req.Metadata}
	switch raw := strings.TrimSpace(string(req.ExpiresAfter)); raw {
	case "":
	case "null":
		none := 0
		u.ExpiresAfterDays = &none
	default:
		var e expiresAfter
		if err := json.Unmarshal(req.ExpiresAfter, &e); err != nil {
			return ragd.Invalid("expires_after", `expires_after must be {"anchor": "last_active_at", "days": N} or null`)
		}
		days, err := e.days()
		if err != nil {
			return err
		}
		u.ExpiresAfterDays = &days
	}
	col, err := s.svc.UpdateVectorStore(c.Request().Context(), workspaceOf(c), c.Param("id"), u)
	if err != nil {
		return err
	}
	return s.answerVectorStore(c, col)
}

func (s *Server) handleVectorStoreDelete(c echo.Context) error {
	col, err := s.svc.DeleteCollection(c.Request().Context(), workspaceOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, openAIDeleted{ID: col.ID, Object: "vector_store.deleted", Deleted: true})
}
