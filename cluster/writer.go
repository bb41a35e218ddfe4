package cluster

import (
	"context"
	"encoding/json"
	"reflect"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store"
)

// Writer is the write seam of a cluster node: each write becomes one op in
// the replicated log, and returns once the log has it (a quorum of the
// stream's replicas) and this node's store has applied it, with what the
// store returned. So a client reads its own writes on the node it wrote
// to; other nodes apply the op within their replication lag.
type Writer struct {
	n *Node
}

var _ service.Writer = (*Writer)(nil)

// do logs the seam's method with args and returns its results (without
// the error) as this node's store returned them. Pointer arguments get
// what the store filled into them, as when the store is called directly.
func (w *Writer) do(ctx context.Context, method string, args ...any) ([]any, error) {
	res, err := w.n.submit(ctx, method, args)
	if err != nil {
		return nil, err
	}
	for i, a := range args {
		copyBack(a, res.args[i])
	}
	return res.results, res.err
}

// copyBack copies what the store filled into an applied argument back into
// the caller's: pointers to structs and slices of them. A *store.Job is
// the caller's own and stays as it is.
func copyBack(dst any, applied reflect.Value) {
	d := reflect.ValueOf(dst)
	if !applied.IsValid() || d.Type() != applied.Type() || d.Type() == jobType {
		return
	}
	switch d.Kind() {
	case reflect.Pointer:
		if !d.IsNil() && !applied.IsNil() && d.Elem().CanSet() {
			d.Elem().Set(applied.Elem())
		}
	case reflect.Slice:
		if d.Type().Elem().Kind() != reflect.Pointer || d.Len() != applied.Len() {
			return
		}
		for i := range d.Len() {
			if !d.Index(i).IsNil() && !applied.Index(i).IsNil() {
				d.Index(i).Elem().Set(applied.Index(i).Elem())
			}
		}
	}
}

// result returns results[i] as a T (its zero value when the write failed).
func result[T any](results []any, i int) T {
	var zero T
	if i >= len(results) {
		return zero
	}
	v, _ := results[i].(T)
	return v
}

// CreateFile logs the recording of an upload.
func (w *Writer) CreateFile(ctx context.Context, ws, colID string, f *ragd.File) (*ragd.File, bool, error) {
	r, err := w.do(ctx, "CreateFile", ws, colID, f)
	return result[*ragd.File](r, 0), result[bool](r, 1), err
}

// StageChunks logs the staging of a file's items.
func (w *Writer) StageChunks(ctx context.Context, job *store.Job, items []*store.StagedItem) error {
	_, err := w.do(ctx, "StageChunks", job, items)
	return err
}

// PublishFile logs the publication of a file's staged items.
func (w *Writer) PublishFile(ctx context.Context, job *store.Job, pages int, texts []*store.StagedItem, at int64) (*ragd.File, error) {
	r, err := w.do(ctx, "PublishFile", job, pages, texts, at)
	return result[*ragd.File](r, 0), err
}

// FailJob logs a file's failed ingest.
func (w *Writer) FailJob(ctx context.Context, job *store.Job, fe ragd.FileError, at int64) error {
	_, err := w.do(ctx, "FailJob", job, fe, at)
	return err
}

// StartJob logs a node's claim of a file's ingest.
func (w *Writer) StartJob(ctx context.Context, fileID string, attempts int, owner string, at int64) (*store.Job, error) {
	r, err := w.do(ctx, "StartJob", fileID, attempts, owner, at)
	return result[*store.Job](r, 0), err
}

// DeleteFile logs a file's deletion.
func (w *Writer) DeleteFile(ctx context.Context, ws, colID, fileID string, at int64) error {
	_, err := w.do(ctx, "DeleteFile", ws, colID, fileID, at)
	return err
}

// CreateCollection logs a collection's creation.
func (w *Writer) CreateCollection(ctx context.Context, c *ragd.Collection) error {
	_, err := w.do(ctx, "CreateCollection", c)
	return err
}

// UpdateCollection logs a collection's update.
func (w *Writer) UpdateCollection(ctx context.Context, ws, id string, u ragd.CollectionUpdate) (*ragd.Collection, error) {
	r, err := w.do(ctx, "UpdateCollection", ws, id, u)
	return result[*ragd.Collection](r, 0), err
}

// DeleteCollection logs a collection's deletion.
func (w *Writer) DeleteCollection(ctx context.Context, ws, id string) (*ragd.Collection, []string, error) {
	r, err := w.do(ctx, "DeleteCollection", ws, id)
	return result[*ragd.Collection](r, 0), result[[]string](r, 1), err
}

// InsertItems logs items added with their embedded chunks.
func (w *Writer) InsertItems(ctx context.Context, ws, colID string, items []ragd.NewItem) ([]*ragd.Item, error) {
	r, err := w.do(ctx, "InsertItems", ws, colID, items)
	return result[[]*ragd.Item](r, 0), err
}

// UpdateItem logs an item's update.
func (w *Writer) UpdateItem(ctx context.Context, ws, colID, itemID string, u ragd.ItemUpdate) (*ragd.Item, error) {
	r, err := w.do(ctx, "UpdateItem", ws, colID, itemID, u)
	return result[*ragd.Item](r, 0), err
}

// DeleteItem logs an item's deletion.
func (w *Writer) DeleteItem(ctx context.Context, ws, colID, itemID string, at int64) error {
	_, err := w.do(ctx, "DeleteItem", ws, colID, itemID, at)
	return err
}

// CreateKey logs an API key's creation (its hash, never its secret).
func (w *Writer) CreateKey(ctx context.Context, k *ragd.Key, hash string) error {
	secret := k.Secret
	k.Secret = "" // the log keeps the hash only
	_, err := w.do(ctx, "CreateKey", k, hash)
	k.Secret = secret
	return err
}

// RevokeKey logs a key's revocation.
func (w *Writer) RevokeKey(ctx context.Context, id string, at int64) error {
	_, err := w.do(ctx, "RevokeKey", id, at)
	return err
}

// CreateWebhook logs a webhook's creation.
func (w *Writer) CreateWebhook(ctx context.Context, wh *ragd.Webhook) error {
	_, err := w.do(ctx, "CreateWebhook", wh)
	return err
}

// CreateWorkspaceFile logs a workspace file's creation.
func (w *Writer) CreateWorkspaceFile(ctx context.Context, f *ragd.WorkspaceFile, limit int64) error {
	_, err := w.do(ctx, "CreateWorkspaceFile", f, limit)
	return err
}

// DeleteWorkspaceFile logs a workspace file's deletion.
func (w *Writer) DeleteWorkspaceFile(ctx context.Context, ws, id string) error {
	_, err := w.do(ctx, "DeleteWorkspaceFile", ws, id)
	return err
}

// DetachFile logs a file's removal from a vector store.
func (w *Writer) DetachFile(ctx context.Context, ws, colID, id string, at int64) ([]string, error) {
	r, err := w.do(ctx, "DetachFile", ws, colID, id, at)
	return result[[]string](r, 0), err
}

// SetFileMetadata logs a file's new attributes.
func (w *Writer) SetFileMetadata(ctx context.Context, ws, colID, fileID string, meta map[string]any, at int64) (*ragd.File, error) {
	r, err := w.do(ctx, "SetFileMetadata", ws, colID, fileID, meta, at)
	return result[*ragd.File](r, 0), err
}

// CreateFileBatch logs a file batch's creation.
func (w *Writer) CreateFileBatch(ctx context.Context, ws string, b *ragd.FileBatch) error {
	_, err := w.do(ctx, "CreateFileBatch", ws, b)
	return err
}

// CancelFileBatch logs a file batch's cancellation.
func (w *Writer) CancelFileBatch(ctx context.Context, ws, colID, id string, at int64) ([]string, error) {
	r, err := w.do(ctx, "CancelFileBatch", ws, colID, id, at)
	return result[[]string](r, 0), err
}

// TouchCollection logs a collection's last use.
func (w *Writer) TouchCollection(ctx context.Context, ws, id string, at int64) error {
	_, err := w.do(ctx, "TouchCollection", ws, id, at)
	return err
}

// ExpireCollection logs a collection's expiry.
func (w *Writer) ExpireCollection(ctx context.Context, ws, id string, at int64) ([]string, error) {
	r, err := w.do(ctx, "ExpireCollection", ws, id, at)
	return result[[]string](r, 0), err
}

// AddMemories logs memories added.
func (w *Writer) AddMemories(ctx context.Context, memories []ragd.Memory) error {
	_, err := w.do(ctx, "AddMemories", memories)
	return err
}

// DeleteMemories logs memories deleted.
func (w *Writer) DeleteMemories(ctx context.Context, ws, user, id string) (int, error) {
	r, err := w.do(ctx, "DeleteMemories", ws, user, id)
	return result[int](r, 0), err
}

// DeleteWebhook logs a webhook's deletion.
func (w *Writer) DeleteWebhook(ctx context.Context, ws, id string) error {
	_, err := w.do(ctx, "DeleteWebhook", ws, id)
	return err
}

// SaveCompletion logs a stored chat completion.
func (w *Writer) SaveCompletion(ctx context.Context, ws string, c *ragd.StoredCompletion) error {
	_, err := w.do(ctx, "SaveCompletion", ws, c)
	return err
}

// VoteCompletion logs a vote on a completion.
func (w *Writer) VoteCompletion(ctx context.Context, ws, id, vote string, at int64) error {
	_, err := w.do(ctx, "VoteCompletion", ws, id, vote, at)
	return err
}

// CreateVideoJob logs a video job's creation.
func (w *Writer) CreateVideoJob(ctx context.Context, j *ragd.VideoJob) error {
	_, err := w.do(ctx, "CreateVideoJob", j)
	return err
}

// UpdateVideoJob logs a video job's new state.
func (w *Writer) UpdateVideoJob(ctx context.Context, ws, id, status string, record json.RawMessage, at int64) error {
	_, err := w.do(ctx, "UpdateVideoJob", ws, id, status, record, at)
	return err
}
