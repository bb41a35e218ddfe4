package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/service"
)

func (s *Server) registerFileRoutes(g *echo.Group) {
	g.POST("/vector_store/:id/files", s.handleFileUpload)
	g.GET("/vector_store/:id/files", s.handleFileList)
	g.GET("/vector_store/:id/files/:fileid", s.handleFileGet)
	g.GET("/vector_store/:id/files/:fileid/content", s.handleFileContent)
	g.GET("/vector_store/:id/files/:fileid/chunks", s.handleFileChunks)
	g.DELETE("/vector_store/:id/files/:fileid", s.handleFileDelete)
}

type fileResponse struct {
	File *ragd.File `json:"file"`
}

// maxFormField bounds each multipart field other than the file.
const maxFormField = 1 << 20

// handleFileUpload receives a multipart upload: the "file" part streams to
// disk, "metadata" is a JSON object, "max_tokens" and "overlap_tokens"
// override the collection's chunking. A new file is queued and answered
// with 202, or with ?wait=true after its ingest ended: 201 with the
// completed file, or the file's error (ingest.Failure: 422 with its code
// such as corrupt_pdf, 503/504 when its embedding provider stayed down),
// the file staying listed as failed. Bytes the collection already holds
// return the existing file with 200. An empty file is refused at upload
// (422 empty_file), an unsupported type too (415).
func (s *Server) handleFileUpload(c echo.Context) error {
	ctx, ws, colID := c.Request().Context(), workspaceOf(c), c.Param("id")
	// A missing collection is refused before its upload streams in.
	if _, err := s.svc.Collection(ctx, ws, colID); err != nil {
		return err
	}
	var err error
	wait := false
	if v := c.QueryParam("wait"); v != "" {
		if wait, err = strconv.ParseBool(v); err != nil {
			return ragd.Invalid("wait", "wait must be true or false, got %q", v)
		}
	}
	nf := service.NewFile{}
	var chunking service.ChunkingChange
	up, err := s.receiveUpload(c, &nf, func(name string, p io.Reader) error {
		switch name {
		case "metadata":
			v, err := formValue(p, name)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(v, &nf.Metadata); err != nil || nf.Metadata == nil {
				return ragd.Invalid("metadata", "metadata must be a JSON object, such as {\"source\": \"wiki\"}")
			}
			return ragd.ValidateMetadata("metadata", nf.Metadata)
		case "max_tokens", "overlap_tokens":
			v, err := formValue(p, name)
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(string(v))
			if err != nil {
				return ragd.Invalid(name, "%s must be a whole number, got %q", name, v)
			}
			if name == "max_tokens" {
				chunking.MaxTokens = &n
			} else {
				chunking.OverlapTokens = &n
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	f, created, err := s.svc.AddFile(ctx, ws, colID, up, nf, &chunking, wait)
	switch {
	case err != nil:
		return err
	case !created:
		return c.JSON(http.StatusOK, fileResponse{f})
	case !wait:
		return c.JSON(http.StatusAccepted, fileResponse{f})
	}
	return c.JSON(http.StatusCreated, fileResponse{f})
}

// receiveUpload reads a multipart upload: the part "file" is streamed to
// disk (service.ReceiveFile), its name and content type noted in nf, and
// every other part is given to field. It returns the upload, which the
// caller consumes; on an error nothing is kept.
func (s *Server) receiveUpload(c echo.Context, nf *service.NewFile, field func(name string, p io.Reader) error) (*service.Upload, error) {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, s.svc.MaxFileBytes()+maxFormField*4)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, ragd.Invalid("file", "send the file as multipart/form-data with a part named \"file\": %v", err)
	}
	var up *service.Upload
	fail := func(err error) (*service.Upload, error) {
		if up != nil {
			up.Discard()
		}
		return nil, err
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(multipartError(err))
		}
		if p.FormName() != "file" {
			if err := field(p.FormName(), p); err != nil {
				return fail(err)
			}
			continue
		}
		if up != nil {
			return fail(ragd.Invalid("file", "send one file per request"))
		}
		nf.Filename, nf.ContentType = p.FileName(), p.Header.Get(echo.HeaderContentType)
		if up, err = s.svc.ReceiveFile(p); err != nil {
			return fail(multipartError(err))
		}
	}
	if up == nil {
		return nil, ragd.Invalid("file", "the multipart body needs a part named \"file\" holding the file")
	}
	return up, nil
}

// formValue reads a small multipart field.
func formValue(p io.Reader, name string) ([]byte, error) {
	v, err := io.ReadAll(io.LimitReader(p, maxFormField+1))
	if err != nil {
		return nil, multipartError(err)
	}
	if len(v) > maxFormField {
		return nil, ragd.Invalid(name, "the %s field is longer than %d bytes", name, maxFormField)
	}
	return v, nil
}

// multipartError turns a failure reading the multipart body into a client
// error, keeping size-limit errors as they are.
func multipartError(err error) error {
	var re *ragd.Error
	var mbe *http.MaxBytesError
	if errors.As(err, &re) || errors.As(err, &mbe) {
		return err
	}
	return ragd.Invalid("file", "the multipart body could not be read: %v", err)
}

func (s *Server) handleFileList(c echo.Context) error {
	return listPage(c, "files", func(f *ragd.File) string { return f.ID }, s.svc.Files)
}

func (s *Server) handleFileGet(c echo.Context) error {
	f, err := s.svc.File(c.Request().Context(), workspaceOf(c), c.Param("id"), c.Param("fileid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, fileResponse{f})
}

// handleFileContent streams the file's original bytes with its content
// type (ranges and conditional requests included).
func (s *Server) handleFileContent(c echo.Context) error {
	f, fh, err := s.svc.OpenFile(c.Request().Context(), workspaceOf(c), c.Param("id"), c.Param("fileid"))
	if err != nil {
		return err
	}
	defer fh.Close()
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, f.ContentType)
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": f.Filename}))
	http.ServeContent(c.Response(), c.Request(), "", time.Unix(f.Created, 0), fh)
	return nil
}

// handleFileChunks lists a completed file's chunks in document order, with
// their page (PDF) and section, a page at a time.
func (s *Server) handleFileChunks(c echo.Context) error {
	return listPage(c, "chunks", func(ch ragd.FileChunk) string { return ch.ID },
		func(ctx context.Context, ws, colID string, p ragd.Page) ([]ragd.FileChunk, bool, error) {
			return s.svc.FileChunks(ctx, ws, colID, c.Param("fileid"), p)
		})
}

func (s *Server) handleFileDelete(c echo.Context) error {
	id := c.Param("fileid")
	if err := s.svc.DeleteFile(c.Request().Context(), workspaceOf(c), c.Param("id"), id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, deletedResponse{ID: id, Deleted: true})
}
