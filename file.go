package ragd

// File statuses.
const (
	FileEnqueued   = "enqueued"
	FileProcessing = "processing"
	FileCompleted  = "completed"
	FileFailed     = "failed"
)

// FileError says why a file failed: the code and message of the
// *Error that stopped its ingest.
type FileError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// File is an uploaded file of a collection and the state of its ingest.
// Its bytes are kept outside the database, named by its ID.
type File struct {
	ID           string         `json:"id"`
	CollectionID string         `json:"-"`
	Filename     string         `json:"filename"`
	Bytes        int64          `json:"bytes"`
	ContentType  string         `json:"content_type"`
	SHA256       string         `json:"sha256"`
	Status       string         `json:"status"`
	Error        *FileError     `json:"error"`
	Items        int            `json:"items"`
	Chunks       int            `json:"chunks"`
	Tokens       int            `json:"tokens"`
	Pages        int            `json:"pages,omitempty"`
	Created      int64          `json:"created"`
	CompletedAt  *int64         `json:"completed_at,omitempty"`
	Metadata     map[string]any `json:"metadata"`
	// ItemsDeleted counts the file's items deleted one by one since its
	// ingest; Items, Chunks and Tokens count what is left.
	ItemsDeleted int `json:"items_deleted,omitempty"`
	// Chunking is the chunk sizes this file is ingested with.
	Chunking Chunking `json:"-"`
	// Source, set when a workspace file is attached to the collection
	// (a vector store file), is that workspace file's ID; Batch is the
	// file batch it came in, if any. Inputs of CreateFile only.
	Source string `json:"-"`
	Batch  string `json:"-"`
}

// Done reports whether the file's ingest has ended, completed or failed.
func (f *File) Done() bool { return f.Status == FileCompleted || f.Status == FileFailed }
