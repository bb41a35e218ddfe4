package service

import (
	"context"
	"os"
	"slices"
	"strings"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// newWorkspaceFileID returns a new ID in OpenAI's form, "file-...".
func newWorkspaceFileID() string { return "file-" + strings.TrimPrefix(ragd.NewID("file"), "file_") }

// AddWorkspaceFile records received file up, named filename, as a file of
// workspace ws for purpose (one of ragd.Purposes), within the workspace's
// storage limit. It consumes up.
func (s *Service) AddWorkspaceFile(ctx context.Context, ws string, up *Upload, filename, purpose string) (*ragd.WorkspaceFile, error) {
	if !slices.Contains(ragd.Purposes, purpose) {
		up.Discard()
		if purpose == "" {
			return nil, ragd.Invalid("purpose", "purpose is required: one of %s", strings.Join(ragd.Purposes, ", "))
		}
		return nil, ragd.Invalid("purpose", "unknown purpose %q; use one of %s", purpose, strings.Join(ragd.Purposes, ", "))
	}
	if up.Size == 0 {
		up.Discard()
		return nil, &ragd.Error{Kind: ragd.EINVALID, Code: "empty_file", Param: "file", Message: "the file is empty"}
	}
	f := &ragd.WorkspaceFile{ID: newWorkspaceFileID(), Workspace: ws, Filename: ingest.CleanFilename(filename), Bytes: up.Size,
		Purpose: purpose, SHA256: up.SHA256, Created: s.now().Unix()}
	if err := s.ingester.Keep(ctx, up, f.ID); err != nil {
		return nil, err
	}
	if err := s.write.CreateWorkspaceFile(ctx, f, s.storageLimit); err != nil {
		s.ingester.Discard(f.ID)
		return nil, err
	}
	return f, nil
}

// WorkspaceFile returns file id of workspace ws, or ENOTFOUND.
func (s *Service) WorkspaceFile(ctx context.Context, ws, id string) (*ragd.WorkspaceFile, error) {
	return s.store.WorkspaceFile(ctx, ws, id)
}

// WorkspaceFiles returns the files of workspace ws of purpose ("": any),
// oldest first.
func (s *Service) WorkspaceFiles(ctx context.Context, ws, purpose string) ([]*ragd.WorkspaceFile, error) {
	return s.store.WorkspaceFiles(ctx, ws, purpose)
}

// OpenWorkspaceFile returns file id of workspace ws and its bytes; the
// caller closes them.
func (s *Service) OpenWorkspaceFile(ctx context.Context, ws, id string) (*ragd.WorkspaceFile, *os.File, error) {
	f, err := s.store.WorkspaceFile(ctx, ws, id)
	if err != nil {
		return nil, nil, err
	}
	fh, err := s.ingester.Open(ctx, f.ID)
	return f, fh, err
}

// DeleteWorkspaceFile deletes file id of workspace ws and its bytes. The
// vector stores it was attached to keep their copies.
func (s *Service) DeleteWorkspaceFile(ctx context.Context, ws, id string) error {
	if err := s.write.DeleteWorkspaceFile(ctx, ws, id); err != nil {
		return err
	}
	s.ingester.Forget([]string{id})
	return nil
}

// FileStorage returns the bytes of files workspace ws stores and its
// limit (0: none).
func (s *Service) FileStorage(ctx context.Context, ws string) (used, limit int64, err error) {
	used, err = s.store.FileBytes(ctx, ws)
	return used, s.storageLimit, err
}
