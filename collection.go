package ragd

// Chunking holds a collection's default chunk sizes, in tokens.
type Chunking struct {
	MaxTokens     int `json:"max_tokens"`
	OverlapTokens int `json:"overlap_tokens"`
}

// MaxDimensions is the most dimensions a collection's vectors may have.
const MaxDimensions = 8192

// Quantization settings of a collection. Int8 holds one byte a dimension
// (a quarter of the floats) and ranks exactly only among the nearest by
// those codes; None holds the floats, exact, while they fit the memory
// budget; Auto, the default, is None for collections whose floats take
// under 64 MiB (or fit the budget) and Int8 from there (the store's
// DefaultQuantizeAbove).
const (
	QuantizationAuto = "auto"
	QuantizationInt8 = "int8"
	QuantizationNone = "none"
)

// How vector search reads a collection's vectors, as Collection.VectorSearch
// reports it: the floats or the codes held in memory, or the floats read
// from the database by every search, slower, when the collection's share
// of memory would exceed the whole memory budget.
const (
	VectorSearchFloats = "floats"
	VectorSearchCodes  = "codes"
	VectorSearchDisk   = "disk"
)

// ValidateQuantization checks a collection's quantization setting.
func ValidateQuantization(q string) error {
	switch q {
	case QuantizationAuto, QuantizationInt8, QuantizationNone:
		return nil
	}
	return Invalid("quantization", "quantization must be %q, %q or %q, got %q", QuantizationAuto, QuantizationInt8, QuantizationNone, q)
}

// NoEmbeddingModel is the embedding model of a collection that stores
// only the vectors its clients bring with items and searches.
const NoEmbeddingModel = "none"

// Collection is a named set of items and files searched together. Its
// embedding model and dimensions are fixed at creation.
type Collection struct {
	ID             string         `json:"id"`
	Workspace      string         `json:"-"`
	Name           string         `json:"name"`
	Description    string         `json:"description"`
	Created        int64          `json:"created"`
	Updated        int64          `json:"updated"`
	EmbeddingModel string         `json:"embedding_model"`
	Dimensions     int            `json:"dimensions"`
	Chunking       Chunking       `json:"chunking"`
	ItemCount      int            `json:"item_count"`
	FileCount      int            `json:"file_count"`
	ChunkCount     int            `json:"chunk_count"`
	Bytes          int64          `json:"bytes"`
	Metadata       map[string]any `json:"metadata"`
	// Quantization says how vector search holds the collection's vectors
	// in memory: QuantizationAuto, QuantizationInt8 or QuantizationNone.
	Quantization string `json:"quantization"`
	// VectorSearch is how a vector search of the collection reads its
	// vectors now (VectorSearchFloats, VectorSearchCodes or
	// VectorSearchDisk), which its size, Quantization and the memory
	// budget decide: a collection that grows past a threshold changes
	// path, and a client can see it. The store sets it on every read; it
	// is not stored.
	VectorSearch string `json:"vector_search"`
	// ExpiresAfterDays, when above 0, is OpenAI's expires_after of a
	// vector store: its contents are deleted that many days after
	// LastActive.
	ExpiresAfterDays int `json:"-"`
	// LastActive is when the collection was created or last searched or
	// added to through the OpenAI faces.
	LastActive int64 `json:"-"`
	// ExpiredAt is when its contents expired, 0 while they have not.
	ExpiredAt int64 `json:"-"`
}

// ExpiresAt returns when the collection's contents expire, 0 for never.
func (c *Collection) ExpiresAt() int64 {
	if c.ExpiresAfterDays <= 0 {
		return 0
	}
	return c.LastActive + int64(c.ExpiresAfterDays)*86400
}

// Page is a window of a list: up to Limit rows after the row with ID After.
type Page struct {
	Limit int
	After string
}

// InvalidCursor is the EINVALID error of a list's ?after= that names no
// item of the list.
func InvalidCursor(after string) error {
	return Invalid("after", "after=%q is not an id in this list; pass the last_id of a previous page", after)
}

// CollectionUpdate holds the fields of a collection that may change; nil
// means unchanged.
type CollectionUpdate struct {
	Name         *string
	Description  *string
	Metadata     map[string]any
	Quantization *string
	// ExpiresAfterDays, when set, replaces the expiry (0: none).
	ExpiresAfterDays *int
	// At is the update's time, decided before the write; 0 means now.
	At int64
}
