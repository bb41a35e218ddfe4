package service

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// Upload is a file received to disk and not yet added; AddFile or
// Discard it.
type Upload = ingest.Upload

// NewFile is what a client says about an uploaded file.
type NewFile = ingest.NewFile

// MaxFileBytes is the largest file an upload may carry.
func (s *Service) MaxFileBytes() int64 { return s.ingester.MaxFileBytes() }

// ReceiveFile streams an upload's bytes to disk; the caller passes the
// result to AddFile or discards it.
func (s *Service) ReceiveFile(r io.Reader) (*Upload, error) { return s.ingester.Receive(r) }

// AddFile queues received file up, described by nf, for ingest into
// collection colID of workspace ws, with the collection's chunking
// changed by chunking. It returns the file and whether it is new: bytes
// the collection already holds return the existing file. With wait, it
// returns once the ingest ended, and a failed ingest as the file's error
// (ingest.Failure). AddFile consumes up.
func (s *Service) AddFile(ctx context.Context, ws, colID string, up *Upload, nf NewFile, chunking *ChunkingChange, wait bool) (*ragd.File, bool, error) {
	col, err := s.fileChunking(ctx, ws, colID, chunking, &nf)
	if err == nil && s.storageLimit > 0 {
		var used int64
		if used, err = s.store.FileBytes(ctx, ws); err == nil && used+up.Size > s.storageLimit {
			err = ragd.StorageLimitError(used, up.Size, s.storageLimit)
		}
	}
	if err != nil {
		up.Discard()
		return nil, false, err
	}
	f, created, err := s.ingester.Add(ctx, ws, col.ID, up, nf)
	if err != nil || !created || !wait {
		return f, created, err
	}
	if f, err = s.ingester.Wait(ctx, ws, col.ID, f.ID); err != nil {
		return nil, true, err
	}
	if f.Status == ragd.FileFailed {
		return f, true, ingest.Failure(f)
	}
	return f, true, nil
}

// fileChunking sets nf's chunking: collection colID's, changed by
// chunking and checked against its model's input limit. It returns the
// collection.
func (s *Service) fileChunking(ctx context.Context, ws, colID string, chunking *ChunkingChange, nf *NewFile) (*ragd.Collection, error) {
	col, err := s.store.Collection(ctx, ws, colID)
	if err != nil {
		return nil, err
	}
	emb, err := s.embedders.ForCollection(col)
	if err != nil {
		return nil, err
	}
	nf.Chunking, err = chunking.resolve(col.Chunking, emb.MaxInputTokens())
	return col, err
}

// Files returns a page of the files of collection colID.
func (s *Service) Files(ctx context.Context, ws, colID string, p ragd.Page) ([]*ragd.File, bool, error) {
	return s.store.Files(ctx, ws, colID, p)
}

// FileChunks returns a page of the chunks of file fileID of collection
// colID in document order, with their pages and sections; a file that has
// not completed has none.
func (s *Service) FileChunks(ctx context.Context, ws, colID, fileID string, p ragd.Page) ([]ragd.FileChunk, bool, error) {
	return s.store.FileChunks(ctx, ws, colID, fileID, p)
}

// File returns file fileID of collection colID, or ENOTFOUND.
func (s *Service) File(ctx context.Context, ws, colID, fileID string) (*ragd.File, error) {
	return s.store.File(ctx, ws, colID, fileID)
}

// OpenFile returns file fileID with its original bytes open for reading;
// the caller closes them.
func (s *Service) OpenFile(ctx context.Context, ws, colID, fileID string) (*ragd.File, *os.File, error) {
	f, err := s.store.File(ctx, ws, colID, fileID)
	if err != nil {
		return nil, nil, err
	}
	fh, err := s.ingester.Open(ctx, f.ID)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, ragd.NotFound("file", f.ID) // deleted meanwhile
	}
	return f, fh, err
}

// DeleteFile deletes file fileID with its items, stopping its ingest.
func (s *Service) DeleteFile(ctx context.Context, ws, colID, fileID string) error {
	return s.ingester.Delete(ctx, ws, colID, fileID)
}
