package store

// Chunking holds a collection's default chunk sizes, in tokens.
type Chunking struct {
	MaxTokens     int `json:"max_tokens"`
	OverlapTokens int `json:"overlap_tokens"`
}

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
}

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

// Search modes.
const (
	ModeHybrid  = "hybrid"
	ModeVector  = "vector"
	ModeKeyword = "keyword"
)

// Filter is a metadata condition: either a comparison (Key, Op, Value) or
// a conjunction (And) or disjunction (Or) of filters. Keys address item
// and file metadata plus the built-ins file_id, item_id and filename.
type Filter struct {
	Key   string    `json:"key,omitempty"`
	Op    string    `json:"op,omitempty"`
	Value any       `json:"value,omitempty"`
	And   []*Filter `json:"and,omitempty"`
	Or    []*Filter `json:"or,omitempty"`
}

// SearchQuery is a search of one collection.
type SearchQuery struct {
	// Text is the query text, used by keyword and hybrid search.
	Text string
	// Vector is the query embedding, used by vector and hybrid search.
	Vector []float32
	// Mode is one of ModeHybrid, ModeVector, ModeKeyword.
	Mode string
	// TopK is the number of results wanted.
	TopK int
	// ScoreThreshold drops results scoring below it, when set.
	ScoreThreshold *float64
	// Filter restricts the searched chunks, when set.
	Filter *Filter
	// Alpha is the weight of the vector ranking in hybrid search, 0..1
	// (the keyword ranking weighs 1-Alpha); nil means DefaultAlpha.
	Alpha *float64
}

// DefaultAlpha is the weight of the vector ranking in hybrid search when a
// query does not set it. It was chosen on a held-out set, not on the
// Python FAQ: the Debian FAQ (debian-faq package, 120 question/answer
// pairs, BM25 nDCG@10 0.504; ragd-eval -set debfaq) swept over alpha 0..1
// in steps of 0.1 gave the best mean nDCG@10 over the built-in models at
// 0.2 (use-lite 0.600, hash 0.591, glove-100d 0.598, against 0.574, 0.560
// and 0.553 at 0.5): the built-in vector rankers are weaker than the
// keyword ranking, so they get the smaller weight.
const DefaultAlpha = 0.2

// Position locates a chunk within its item.
type Position struct {
	Chunk   int    `json:"chunk"`
	Page    int    `json:"page,omitempty"`
	Section string `json:"section,omitempty"`
}

// SearchResult is one matching chunk, with its item's identity. Score is
// the search's own (see Search); RerankScore, set only when a rerank
// model reordered the results, is that model's relevance score, which
// then decides the order.
type SearchResult struct {
	ID          string         `json:"id"`
	ItemID      string         `json:"item_id"`
	FileID      *string        `json:"file_id"`
	Filename    *string        `json:"filename"`
	Content     string         `json:"content,omitempty"`
	Description string         `json:"description"`
	Score       float64        `json:"score"`
	RerankScore *float64       `json:"rerank_score,omitempty"`
	Metadata    map[string]any `json:"metadata"`
	Created     int64          `json:"created"`
	Position    Position       `json:"position"`
}
