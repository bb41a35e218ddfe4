package server

import (
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/service"
)

// OpenAI's Files API (/v1/files): files of a workspace, independent of
// collections until attached to a vector store.

func (s *Server) registerOpenAIFileRoutes(g *echo.Group) {
	g.POST("/files", s.handleWorkspaceFileUpload, s.storageHeaders)
	g.GET("/files", s.handleWorkspaceFileList, s.storageHeaders)
	g.GET("/files/:id", s.handleWorkspaceFileGet, s.storageHeaders)
	g.GET("/files/:id/content", s.handleWorkspaceFileContent, s.storageHeaders)
	g.DELETE("/files/:id", s.handleWorkspaceFileDelete, s.storageHeaders)
}

// openAIFile is OpenAI's file object.
type openAIFile struct {
	ID            string  `json:"id"`
	Object        string  `json:"object"`
	Bytes         int64   `json:"bytes"`
	CreatedAt     int64   `json:"created_at"`
	ExpiresAt     *int64  `json:"expires_at"`
	Filename      string  `json:"filename"`
	Purpose       string  `json:"purpose"`
	Status        string  `json:"status"`
	StatusDetails *string `json:"status_details"`
}

func showWorkspaceFile(f *ragd.WorkspaceFile) openAIFile {
	return openAIFile{ID: f.ID, Object: "file", Bytes: f.Bytes, CreatedAt: f.Created, Filename: f.Filename, Purpose: f.Purpose, Status: "processed"}
}

// storageHeaders sets x-storage-used-bytes and x-storage-limit-bytes (0:
// no limit) on every answer of the Files API, as seed 004 does; they are
// read once the handler ran, so an upload or delete shows its effect.
func (s *Server) storageHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Before(func() {
			used, limit, err := s.svc.FileStorage(c.Request().Context(), workspaceOf(c))
			if err != nil {
				return
			}
			h := c.Response().Header()
			h.Set("X-Storage-Used-Bytes", strconv.FormatInt(used, 10))
			h.Set("X-Storage-Limit-Bytes", strconv.FormatInt(limit, 10))
		})
		return next(c)
	}
}

// handleWorkspaceFileUpload receives a multipart upload with the parts
// "file" and "purpose".
func (s *Server) handleWorkspaceFileUpload(c echo.Context) error {
	var nf service.NewFile
	purpose := ""
	up, err := s.receiveUpload(c, &nf, func(name string, p io.Reader) error {
		if name != "purpose" {
			return nil
		}
		v, err := formValue(p, name)
		purpose = string(v)
		return err
	})
	if err != nil {
		return err
	}
	f, err := s.svc.AddWorkspaceFile(c.Request().Context(), workspaceOf(c), up, nf.Filename, purpose)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, showWorkspaceFile(f))
}

func (s *Server) handleWorkspaceFileList(c echo.Context) error {
	files, err := s.svc.WorkspaceFiles(c.Request().Context(), workspaceOf(c), c.QueryParam("purpose"))
	if err != nil {
		return err
	}
	return openAIPage(c, files, func(f *ragd.WorkspaceFile) string { return f.ID },
		func(f *ragd.WorkspaceFile) (openAIFile, error) { return showWorkspaceFile(f), nil }, 10_000, 10_000)
}

func (s *Server) handleWorkspaceFileGet(c echo.Context) error {
	f, err := s.svc.WorkspaceFile(c.Request().Context(), workspaceOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, showWorkspaceFile(f))
}

// handleWorkspaceFileContent streams the file's bytes (ranges and
// conditional requests included).
func (s *Server) handleWorkspaceFileContent(c echo.Context) error {
	f, fh, err := s.svc.OpenWorkspaceFile(c.Request().Context(), workspaceOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	defer fh.Close()
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/octet-stream")
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": f.Filename}))
	http.ServeContent(c.Response(), c.Request(), "", time.Unix(f.Created, 0), fh)
	return nil
}

func (s *Server) handleWorkspaceFileDelete(c echo.Context) error {
	id := c.Param("id")
	if err := s.svc.DeleteWorkspaceFile(c.Request().Context(), workspaceOf(c), id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, openAIDeleted{ID: id, Object: "file", Deleted: true})
}
