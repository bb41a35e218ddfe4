// Package service holds ragd's use cases, between the HTTP handlers and
// the store: create, update and delete collections, add, update and delete
// items, upload and delete files, search, RAG retrieval, keys, webhooks,
// completions, usage, and speech, transcription, image, music and video
// generation through the media models. It resolves a collection's embedding model once
// (embed.Registry.ForCollection: one error for a missing model, one
// dimension check), validates, embeds, reports the tokens each call used,
// and calls the store. The server's handlers decode a request, call one
// method here and encode its answer; they never see the store.
//
// # The write seam
//
// Every state change a client causes reaches the store through one method
// of Writer, a small set of write operations whose inputs are explicit:
// the service decides IDs, timestamps, chunk texts and vectors before the
// write (ragd.NewID, the injected clock, the embedder), so the store only
// records them and applying the same operation on another store gives the
// same rows. A cluster records these operations in its replicated log and
// replays them on every node; one node uses the store itself.
//
// Node-local bookkeeping stays outside the seam: usage counters, request
// logs, the ingest job queue and webhook delivery attempts.
package service

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/media"
	"github.com/ragd/ragd/rag"
	"github.com/ragd/ragd/rerank"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/webhook"
)

// Writer is the write seam (see the package documentation): every state
// change of collections, items, files, keys, webhooks, completions and
// video jobs.
// Each method's inputs carry the IDs and timestamps it writes; the store
// refuses a write whose ID or time is missing. *store.Store implements it.
// The file writes are ingest.Writer, which the ingester calls itself:
// give ingest.Config the same Writer. Methods return ENOTFOUND when the
// workspace has no such collection, item, file, key, webhook or video
// job, and
// ECONFLICT on a duplicate name.
type Writer interface {
	ingest.Writer
	CreateCollection(ctx context.Context, c *ragd.Collection) error
	UpdateCollection(ctx context.Context, ws, id string, u ragd.CollectionUpdate) (*ragd.Collection, error)
	DeleteCollection(ctx context.Context, ws, id string) (*ragd.Collection, []string, error)
	InsertItems(ctx context.Context, ws, colID string, items []ragd.NewItem) ([]*ragd.Item, error)
	UpdateItem(ctx context.Context, ws, colID, itemID string, u ragd.ItemUpdate) (*ragd.Item, error)
	DeleteItem(ctx context.Context, ws, colID, itemID string, at int64) error
	CreateKey(ctx context.Context, k *ragd.Key, hash string) error
	RevokeKey(ctx context.Context, id string, at int64) error
	CreateWebhook(ctx context.Context, w *ragd.Webhook) error
	CreateWorkspaceFile(ctx context.Context, f *ragd.WorkspaceFile, limit int64) error
	DeleteWorkspaceFile(ctx context.Context, ws, id string) error
	DetachFile(ctx context.Context, ws, colID, id string, at int64) ([]string, error)
	SetFileMetadata(ctx context.Context, ws, colID, fileID string, meta map[string]any, at int64) (*ragd.File, error)
	CreateFileBatch(ctx context.Context, ws string, b *ragd.FileBatch) error
	CancelFileBatch(ctx context.Context, ws, colID, id string, at int64) ([]string, error)
	TouchCollection(ctx context.Context, ws, id string, at int64) error
	ExpireCollection(ctx context.Context, ws, id string, at int64) ([]string, error)
	AddMemories(ctx context.Context, memories []ragd.Memory) error
	DeleteMemories(ctx context.Context, ws, user, id string) (int, error)
	DeleteWebhook(ctx context.Context, ws, id string) error
	SaveCompletion(ctx context.Context, ws string, c *ragd.StoredCompletion) error
	VoteCompletion(ctx context.Context, ws, id, vote string, at int64) error
	CreateVideoJob(ctx context.Context, j *ragd.VideoJob) error
	UpdateVideoJob(ctx context.Context, ws, id, status string, record json.RawMessage, at int64) error
}

var _ Writer = (*store.Store)(nil)

// Config holds a Service's dependencies.
type Config struct {
	// Store is the database: reads go to it directly, writes through
	// Writer.
	Store *store.Store
	// Writer is the write seam; nil means Store.
	Writer Writer
	// Embedders are the embedding models collections are created with.
	Embedders *embed.Registry
	// Rerankers are the rerank models of /v1/rerank and of the rerank
	// option of search and RAG; nil means none.
	Rerankers *rerank.Registry
	// DefaultRerank is the rerank step of every hybrid search (and RAG
	// retrieval) of a collection of the default embedding model whose
	// request names no rerank model: its Model and its Candidates (at
	// least the request's top_k are read). Nil means none. A request opts
	// out with "rerank": {"model": "none"}.
	DefaultRerank *rerank.Options
	// Ingester ingests uploaded files; nil means the service takes no
	// files.
	Ingester *ingest.Ingester
	// Chat routes chat and RAG requests to chat models; nil means the
	// built-in models only.
	Chat *rag.Router
	// Media routes speech, transcription, image, video and music
	// requests; nil means no media model (those routes answer 503).
	Media *media.Router
	// WebhookDestinations are the addresses webhook URLs may name; give
	// it the dispatcher's (webhook.Options.Destinations).
	WebhookDestinations webhook.Destinations
	// StorageLimit bounds the bytes of files each workspace stores
	// (FileStorage); 0 means no limit.
	StorageLimit int64
	// ClusterUsage, on a cluster node, adds up the usage of every node;
	// nil means this node's own.
	ClusterUsage ClusterUsage
	// Now is the clock of every timestamp the service decides; nil means
	// time.Now.
	Now func() time.Time
	// Logger receives what the service logs; nil means slog.Default().
	Logger *slog.Logger
}

// Service performs ragd's use cases. It is safe for concurrent use.
type Service struct {
	store     *store.Store
	write     Writer
	embedders *embed.Registry
	rerankers *rerank.Registry
	// defaultRerank is Config.DefaultRerank.
	defaultRerank *rerank.Options
	ingester      *ingest.Ingester
	chat          *rag.Router
	media         *media.Router
	// destinations are the addresses webhook URLs may name.
	destinations webhook.Destinations
	storageLimit int64
	clusterUsage ClusterUsage
	now          func() time.Time
	log          *slog.Logger
}

// New returns a service over cfg's store and models.
func New(cfg Config) *Service {
	if cfg.Writer == nil {
		cfg.Writer = cfg.Store
	}
	if cfg.Rerankers == nil {
		cfg.Rerankers = rerank.NewRegistry()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Chat == nil {
		router, err := rag.NewRouter(rag.Config{})
		if err != nil {
			panic(err) // the built-in models alone always configure
		}
		cfg.Chat = router
	}
	if cfg.Media == nil {
		cfg.Media, _ = media.NewRouter(media.Config{}) // no providers, no error
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{store: cfg.Store, write: cfg.Writer, embedders: cfg.Embedders, rerankers: cfg.Rerankers,
		defaultRerank: cfg.DefaultRerank, ingester: cfg.Ingester, chat: cfg.Chat, media: cfg.Media, destinations: cfg.WebhookDestinations, storageLimit: cfg.StorageLimit, clusterUsage: cfg.ClusterUsage, now: cfg.Now, log: cfg.Logger}
}

// Embedders returns the embedding models, for /v1/embeddings, /v1/models
// and health checks.
func (s *Service) Embedders() *embed.Registry { return s.embedders }

// Rerankers returns the rerank models.
func (s *Service) Rerankers() *rerank.Registry { return s.rerankers }

// SetRerankers replaces the rerank models; the server calls it once, at
// construction, to time every call.
func (s *Service) SetRerankers(r *rerank.Registry) { s.rerankers = r }

// Ingester returns the file ingester, nil when files are not served.
func (s *Service) Ingester() *ingest.Ingester { return s.ingester }

// Now returns the service's current time.
func (s *Service) Now() time.Time { return s.now() }
