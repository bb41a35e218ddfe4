package ragd

import "fmt"

// WorkspaceFile is a file uploaded to a workspace through OpenAI's Files
// API (/v1/files). It belongs to no collection: attaching it to a vector
// store (a collection) ingests a copy of its bytes there. Its bytes are
// kept outside the database, named by its ID.
type WorkspaceFile struct {
	ID        string
	Workspace string
	Filename  string
	Bytes     int64
	// Purpose is the client's purpose ("assistants", "user_data", ...).
	Purpose string
	SHA256  string
	Created int64
}

// StorageLimitError is the ETOOLARGE error of a file of size bytes that
// would take a workspace storing used bytes of files past its limit.
func StorageLimitError(used, size, limit int64) *Error {
	return &Error{Kind: ETOOLARGE, Code: "storage_limit_exceeded", Param: "file", Message: fmt.Sprintf(
		"the workspace stores %d bytes of files and this one has %d: more than its limit of %d bytes; delete files first", used, size, limit)}
}

// Purposes are the purposes /v1/files accepts, OpenAI's.
var Purposes = []string{"assistants", "batch", "fine-tune", "vision", "user_data", "evals"}

// FileBatch is a set of files added to a vector store together.
type FileBatch struct {
	ID           string
	CollectionID string
	Created      int64
	// CancelledAt is when the batch was cancelled, 0 if it was not.
	CancelledAt int64
	// Files are the vector store file IDs of the batch.
	Files []string
}

// FileCounts counts a vector store's (or a batch's) files by status, in
// OpenAI's terms: a file enqueued or processing is in progress.
type FileCounts struct {
	InProgress int `json:"in_progress"`
	Completed  int `json:"completed"`
	Failed     int `json:"failed"`
	Cancelled  int `json:"cancelled"`
	Total      int `json:"total"`
}

// Add counts n files of ragd status status ("" for files a cancelled
// batch removed).
func (c *FileCounts) Add(status string, n int) {
	switch status {
	case FileCompleted:
		c.Completed += n
	case FileFailed:
		c.Failed += n
	case "":
		c.Cancelled += n
	default:
		c.InProgress += n
	}
	c.Total += n
}

// VectorStoreFile is a file of a collection as OpenAI's vector store API
// shows it: known by the ID of the workspace file it was attached as, or
// by its own ID when it was uploaded to the collection directly.
type VectorStoreFile struct {
	ID      string
	Created int64
	// File is the collection's file holding its items; nil for a file
	// of a cancelled batch whose ingest had not ended (it was removed).
	File *File
}
