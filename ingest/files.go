package ingest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/extract"
)

// DefaultMaxFileBytes is the default upload size limit (512 MiB).
const DefaultMaxFileBytes = 512 << 20

// contentTypes is the content type recorded for each detected format; the
// client's own Content-Type is often missing or generic.
var contentTypes = map[extract.Format]string{
	extract.Text:     "text/plain; charset=utf-8",
	extract.Markdown: "text/markdown; charset=utf-8",
	extract.HTML:     "text/html; charset=utf-8",
	extract.PDF:      "application/pdf",
	extract.DOCX:     "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	extract.CSV:      "text/csv; charset=utf-8",
	extract.JSONL:    "application/jsonl",
	extract.JSON:     "application/json",
}

// Upload is a file received to disk whose ingest is not yet recorded.
// Either Add it or Discard it.
type Upload struct {
	ID     string
	Size   int64
	SHA256 string
	path   string
}

// Discard removes the received bytes.
func (u *Upload) Discard() { os.Remove(u.path) }

// Receive streams r to a new file on disk, computing its size and SHA-256
// as it goes, so the file is never held in memory. Past the configured
// size limit it stops, removes what it wrote and returns an ETOOLARGE error
// with code "file_too_large".
func (g *Ingester) Receive(r io.Reader) (*Upload, error) {
	up := &Upload{ID: ragd.NewID("file")}
	up.path = filepath.Join(g.tmpDir(), up.ID)
	f, err := os.OpenFile(up.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, g.cfg.MaxFileBytes+1))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > g.cfg.MaxFileBytes {
		err = &ragd.Error{Kind: ragd.ETOOLARGE, Code: "file_too_large", Param: "file",
			Message: fmt.Sprintf("the file is larger than the limit of %d bytes", g.cfg.MaxFileBytes)}
	}
	if err != nil {
		up.Discard()
		return nil, err
	}
	up.Size, up.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	return up, nil
}

// Keep stores the bytes of upload up under name id, a workspace file's
// ID, where Open and Copy find them. It consumes up.
func (g *Ingester) Keep(ctx context.Context, up *Upload, id string) error {
	if err := g.share(ctx, up.path, id); err != nil {
		up.Discard()
		return err
	}
	err := os.Rename(up.path, g.Path(id))
	if err != nil {
		up.Discard()
	}
	return err
}

// share puts the bytes at path under name id into Config.Blobs, if set,
// so that every node of a cluster can read them.
func (g *Ingester) share(ctx context.Context, path, id string) error {
	if g.cfg.Blobs == nil {
		return nil
	}
	if err := g.cfg.Blobs.Put(ctx, id, path); err != nil {
		return &ragd.Error{Kind: ragd.EUNAVAILABLE, Code: "cluster_unavailable", Err: err,
			Message: "the file's bytes could not be stored where every node of the cluster reads them; retry once the cluster is whole again"}
	}
	return nil
}

// fetch makes sure this node has the bytes of file id in Config.Dir: in a
// cluster, a file uploaded on another node is read from Config.Blobs.
func (g *Ingester) fetch(ctx context.Context, id string) error {
	if g.cfg.Blobs == nil {
		return nil
	}
	if _, err := os.Stat(g.Path(id)); err == nil || !os.IsNotExist(err) {
		return err
	}
	tmp := filepath.Join(g.tmpDir(), ragd.NewID("fetch"))
	if err := g.cfg.Blobs.Get(ctx, id, tmp); err != nil {
		os.Remove(tmp)
		// Unavailable even when not found: the caller found the file's
		// record, so its bytes were stored; an ingest is retried later.
		return &ragd.Error{Kind: ragd.EUNAVAILABLE, Code: "cluster_unavailable", Err: err,
			Message: fmt.Sprintf("the bytes of file %q could not be read from the cluster", id)}
	}
	if err := os.Rename(tmp, g.Path(id)); err != nil {
		return err
	}
	// Deleted while it was read, after ForgetLocal removed nothing: the
	// copy goes, or it would stay until the next start.
	if held, err := g.store.HasFile(ctx, id); err != nil || !held {
		os.Remove(g.Path(id))
		return cmp.Or[error](err, ragd.NotFound("file", id))
	}
	return nil
}

// Copy returns a new upload of the bytes stored under name id, whose size
// and SHA-256 are known, to Add to a collection: a hard link where the
// file system allows one, else a copy.
func (g *Ingester) Copy(ctx context.Context, id string, size int64, sha256 string) (*Upload, error) {
	if err := g.fetch(ctx, id); err != nil {
		return nil, err
	}
	up := &Upload{ID: ragd.NewID("file"), Size: size, SHA256: sha256}
	up.path = filepath.Join(g.tmpDir(), up.ID)
	if err := os.Link(g.Path(id), up.path); err == nil {
		return up, nil
	}
	src, err := os.Open(g.Path(id))
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dst, err := os.OpenFile(up.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(dst, src)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		up.Discard()
		return nil, err
	}
	return up, nil
}

// MaxFileBytes returns the upload size limit.
func (g *Ingester) MaxFileBytes() int64 { return g.cfg.MaxFileBytes }

// NewFile is what a client says about an uploaded file.
type NewFile struct {
	// Filename is the client's file name (only recorded and shown; the
	// bytes are stored under the file's ID).
	Filename string
	// ContentType is the client's Content-Type, possibly empty or wrong.
	ContentType string
	Metadata    map[string]any
	// Chunking is the chunk sizes to ingest the file with.
	Chunking ragd.Chunking
	// Source and Batch are ragd.File's: the workspace file attached, and
	// the file batch it came in.
	Source, Batch string
}

// Add detects the type of an upload, records the file in collection colID
// of workspace ws and queues its ingest, and returns the file with created
// true. When the collection already holds the same bytes, the upload is
// discarded and the existing file returned, as it is with created false,
// or queued again with created true (see store.CreateFile). An
// unsupported type is an EUNSUPPORTED error listing the supported types; an
// empty file an EUNPROCESSABLE error with code "empty_file". The upload is
// consumed in every case.
func (g *Ingester) Add(ctx context.Context, ws, colID string, up *Upload, nf NewFile) (*ragd.File, bool, error) {
	format, err := extract.Detect(up.path, nf.Filename, nf.ContentType)
	if err != nil {
		up.Discard()
		return nil, false, err
	}
	// The bytes take their final name before the file is recorded, so a
	// worker never sees a file without bytes; a crash in between leaves
	// an unrecorded file that the next start removes.
	if err := g.share(ctx, up.path, up.ID); err != nil {
		up.Discard()
		return nil, false, err
	}
	final := g.Path(up.ID)
	if err := os.Rename(up.path, final); err != nil {
		up.Discard()
		return nil, false, err
	}
	f, created, err := g.write.CreateFile(ctx, ws, colID, &ragd.File{ID: up.ID, Created: g.store.Now().Unix(), Filename: CleanFilename(nf.Filename),
		Bytes: up.Size, ContentType: contentTypes[format], SHA256: up.SHA256, Metadata: nf.Metadata, Chunking: nf.Chunking,
		Source: nf.Source, Batch: nf.Batch})
	if err != nil || f.ID != up.ID {
		// Not recorded, or the collection's file of these bytes (kept
		// under its own ID) is returned or ingested again.
		os.Remove(final)
	}
	if err == nil && f.ID != up.ID && g.cfg.Blobs != nil {
		// No file is recorded under the upload's ID: its shared copy
		// goes too. (After an error the write may still be applied
		// later, in a cluster that recovers it: the copy stays.)
		if err := g.cfg.Blobs.Delete(ctx, []string{up.ID}); err != nil {
			g.log.Warn("removing the shared copy of a duplicate upload", "upload", up.ID, "err", err)
		}
	}
	if err != nil || !created {
		return f, false, err
	}
	g.wakeWorker()
	return f, true, nil
}

// CleanFilename keeps the base name of a client's file name, as valid
// UTF-8 without control characters, at most 255 bytes.
func CleanFilename(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	for len(name) > 255 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" {
		return "file"
	}
	return name
}

// Path returns where the bytes of file fileID are stored.
func (g *Ingester) Path(fileID string) string { return filepath.Join(g.cfg.Dir, fileID) }

// Open opens the stored bytes of file fileID.
func (g *Ingester) Open(ctx context.Context, fileID string) (*os.File, error) {
	if err := g.fetch(ctx, fileID); err != nil {
		return nil, err
	}
	return os.Open(g.Path(fileID))
}

// Delete removes file fileID of collection colID in workspace ws with its
// items, chunks, vectors, keyword entries and stored bytes. A running
// ingest of the file is cancelled and leaves nothing behind.
func (g *Ingester) Delete(ctx context.Context, ws, colID, fileID string) error {
	if err := g.write.DeleteFile(ctx, ws, colID, fileID, g.store.Now().Unix()); err != nil {
		return err
	}
	g.Forget([]string{fileID})
	return nil
}

// Forget cancels the running ingests of files already deleted from the
// store (such as a deleted collection's files) and removes their bytes,
// from Config.Blobs too.
func (g *Ingester) Forget(fileIDs []string) {
	if g.cfg.Blobs != nil && len(fileIDs) > 0 {
		if err := g.cfg.Blobs.Delete(context.Background(), fileIDs); err != nil {
			g.log.Warn("removing file bytes from the cluster", "files", len(fileIDs), "err", err)
		}
	}
	g.ForgetLocal(fileIDs)
}

// Discard removes the bytes Keep stored under id for a record whose write
// failed. In a cluster only this node's copy goes: a write the cluster
// did not confirm may still be applied, and then needs the shared copy;
// one never applied leaves it to the cluster's sweep of uploads no file
// holds.
func (g *Ingester) Discard(id string) { g.ForgetLocal([]string{id}) }

// ForgetLocal is Forget on this node alone: the running ingests and the
// local bytes of files deleted through another cluster node, which
// removed their shared copy.
func (g *Ingester) ForgetLocal(fileIDs []string) {
	for _, id := range fileIDs {
		g.mu.Lock()
		cancel := g.running[id]
		g.mu.Unlock()
		if cancel != nil {
			cancel(errDeleted)
		}
		if err := os.Remove(g.Path(id)); err != nil && !os.IsNotExist(err) {
			g.log.Warn("removing file bytes", "file_id", id, "err", err)
		}
	}
}

// Describe shortens content to a one-line description of at most about
// 200 bytes, cut at a word boundary.
func Describe(content string) string {
	d := strings.Join(strings.Fields(content), " ")
	const max = 200
	if len(d) <= max {
		return d
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(d[cut]) {
		cut--
	}
	if sp := strings.LastIndexByte(d[:cut], ' '); sp > max/2 {
		cut = sp
	}
	return d[:cut] + "…"
}
