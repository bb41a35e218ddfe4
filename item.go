package ragd

// Item is one document of a collection: added directly through the API or
// made from a file (a whole document, or one row of a CSV/JSONL file).
type Item struct {
	ID           string         `json:"id"`
	CollectionID string         `json:"-"`
	FileID       string         `json:"file_id,omitempty"`
	Created      int64          `json:"created"`
	Updated      int64          `json:"updated"`
	Description  string         `json:"description"`
	Content      string         `json:"content"`
	Metadata     map[string]any `json:"metadata"`
	ChunkCount   int            `json:"chunk_count"`
	Tokens       int            `json:"tokens"`
}

// Chunk is one embedded piece of an item, the unit of search.
type Chunk struct {
	// Index is the chunk's position within its item, from 0.
	Index int
	// Content is the chunk text.
	Content string
	// Tokens is the chunk's token count.
	Tokens int
	// Page is the 1-based page the chunk starts on, 0 when unknown.
	Page int
	// Section is the document title and heading path the chunk starts
	// under ("Title > Installation > On Windows"), empty when unknown. It
	// is keyword-indexed with the content (see keywordText) but is not
	// part of Content.
	Section string
	// Start and End are byte offsets of the chunk in the item's text.
	Start, End int
	// Vector is the chunk's unit-length embedding.
	Vector []float32
}

// Position locates a chunk within its item.
type Position struct {
	Chunk   int    `json:"chunk"`
	Page    int    `json:"page,omitempty"`
	Section string `json:"section,omitempty"`
}

// NewItem is an item to insert, already chunked and embedded.
type NewItem struct {
	// ID and Created, decided by the service before the write, are the
	// item's identity and creation time; the store fills in empty ones
	// (tests, files being ingested).
	ID          string
	Created     int64
	Content     string
	Description string
	Metadata    map[string]any
	Chunks      []Chunk
}

// ItemUpdate holds the fields of an item that may change; nil means
// unchanged. New content comes with its new chunks.
type ItemUpdate struct {
	Description *string
	Metadata    map[string]any
	Content     *string
	Chunks      []Chunk
	// At is the update's time, decided before the write; 0 means now.
	At int64
}

// FileChunk is one chunk of a file as listed in document order: the
// chunk's search result id ("chunk_N"), its item, text and position.
type FileChunk struct {
	ID       string   `json:"id"`
	ItemID   string   `json:"item_id"`
	Content  string   `json:"content"`
	Tokens   int      `json:"tokens"`
	Position Position `json:"position"`
}
