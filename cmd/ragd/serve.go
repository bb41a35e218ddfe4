package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/cluster"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/media"
	"github.com/ragd/ragd/rag"
	"github.com/ragd/ragd/rerank"
	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store"
)

// Main is the ragd server program: ParseFlags, then Run until the context
// ends, which closes everything. Tests start it on a temp dir and port.
type Main struct {
	Addr         string
	DataDir      string
	AdminKey     string
	MaxBodyBytes int64
	Grace        time.Duration
	LogLevel     string
	// LogFormat is json or text, for every line ragd logs.
	LogFormat string
	// EmbeddingModel is the default model of new collections.
	EmbeddingModel string
	// Workers is how many files are ingested at once.
	Workers int
	// MaxFileBytes is the upload size limit.
	MaxFileBytes int64
	// StorageLimitBytes bounds the file bytes of each workspace (0: none).
	StorageLimitBytes int64
	// MemoryBudget bounds the bytes of vectors held in memory for search.
	MemoryBudget int64
	// KeywordMemory bounds the bytes of keyword postings held in memory.
	KeywordMemory int64
	// Config is the optional config file listing model providers.
	Config string
	// DefaultRerank is the rerank model of hybrid searches of collections
	// of the default embedding model that name none; "none" for none.
	DefaultRerank string
	// MaxRerankDocuments and MaxRerankBytes limit one /v1/rerank call.
	MaxRerankDocuments int
	MaxRerankBytes     int64
	// Timeouts bound each HTTP connection.
	Timeouts server.Timeouts

	ops     opsSettings
	ingest  ingestSettings
	cluster clusterSettings

	// Ready, when set, receives the server URL once it listens.
	Ready chan<- string

	stdout, stderr io.Writer
}

// NewMain returns a Main writing to stdout and stderr.
func NewMain(stdout, stderr io.Writer) *Main { return &Main{stdout: stdout, stderr: stderr} }

// ParseFlags reads flags, with RAGD_* environment variables as defaults.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("ragd serve", flag.ContinueOnError)
	fs.SetOutput(m.stderr)
	fs.StringVar(&m.Addr, "addr", envOr("RAGD_ADDR", "127.0.0.1:8080"), "listen address (env RAGD_ADDR)")
	fs.StringVar(&m.DataDir, "data-dir", envOr("RAGD_DATA_DIR", "./data"), "data directory (env RAGD_DATA_DIR)")
	fs.Int64Var(&m.MaxBodyBytes, "max-body-bytes", server.DefaultMaxBodyBytes, "largest JSON request body, in bytes")
	fs.DurationVar(&m.Grace, "shutdown-grace", 30*time.Second, "how long a shutdown waits for in-flight work")
	fs.StringVar(&m.EmbeddingModel, "embedding-model", envOr("RAGD_EMBEDDING_MODEL", ""), "default embedding model of new collections (env RAGD_EMBEDDING_MODEL; default: the config file's, else "+embed.DefaultModelName+")")
	fs.IntVar(&m.Workers, "workers", envInt("RAGD_WORKERS", runtime.NumCPU()), "files ingested at once (env RAGD_WORKERS)")
	fs.Int64Var(&m.StorageLimitBytes, "storage-limit-bytes", int64(envInt("RAGD_STORAGE_LIMIT_BYTES", 0)),
		"most bytes of files each workspace may store, through /v1/files and collection uploads; 0 for no limit (env RAGD_STORAGE_LIMIT_BYTES)")
	fs.Int64Var(&m.MemoryBudget, "memory-budget", int64(envInt("RAGD_MEMORY_BUDGET", store.DefaultVectorCacheBytes)),
		"bytes of vectors kept in memory for search; a collection beyond it is scanned from disk, slower (env RAGD_MEMORY_BUDGET)")
	fs.Int64Var(&m.KeywordMemory, "keyword-memory", int64(envInt("RAGD_KEYWORD_MEMORY", store.DefaultKeywordCacheBytes)),
		"bytes of keyword postings kept in memory for ranking; a collection beyond it is ranked by FTS5, slower; 0 for FTS5 always (env RAGD_KEYWORD_MEMORY)")
	fs.Int64Var(&m.MaxFileBytes, "max-file-bytes", int64(envInt("RAGD_MAX_FILE_BYTES", ingest.DefaultMaxFileBytes)), "largest uploaded file, in bytes (env RAGD_MAX_FILE_BYTES)")
	fs.StringVar(&m.Config, "config", envOr("RAGD_CONFIG", ""), "optional YAML file listing chat (and speech, transcription, image, video, music), embedding and rerank providers (env RAGD_CONFIG)")
	fs.StringVar(&m.DefaultRerank, "default-rerank", envOr("RAGD_DEFAULT_RERANK", rerank.LiteName),
		"rerank model of every hybrid search and RAG retrieval of a "+embed.DefaultModelName+" collection whose request names none (it reads the first 30 results); none to turn it off (env RAGD_DEFAULT_RERANK)")
	fs.IntVar(&m.MaxRerankDocuments, "max-rerank-documents", envInt("RAGD_MAX_RERANK_DOCUMENTS", server.DefaultMaxRerankDocuments), "most documents in one /v1/rerank call (env RAGD_MAX_RERANK_DOCUMENTS)")
	fs.Int64Var(&m.MaxRerankBytes, "max-rerank-bytes", int64(envInt("RAGD_MAX_RERANK_BYTES", server.DefaultMaxRerankBytes)), "largest query plus documents of one /v1/rerank call, in bytes (env RAGD_MAX_RERANK_BYTES)")
	fs.StringVar(&m.LogLevel, "log-level", envOr("RAGD_LOG_LEVEL", "info"), "debug, info, warn or error (env RAGD_LOG_LEVEL)")
	fs.StringVar(&m.LogFormat, "log-format", envOr("RAGD_LOG_FORMAT", "json"), "json or text, for every log line (env RAGD_LOG_FORMAT)")
	d := server.DefaultTimeouts
	fs.DurationVar(&m.Timeouts.ReadHeader, "read-header-timeout", d.ReadHeader, "time to read a request's headers")
	fs.DurationVar(&m.Timeouts.Read, "read-timeout", d.Read, "time to read a whole request, body included (uploads must arrive within it)")
	fs.DurationVar(&m.Timeouts.Write, "write-timeout", d.Write, "time from a request's headers to the end of its response; streamed chat answers have none")
	fs.DurationVar(&m.Timeouts.Idle, "idle-timeout", d.Idle, "how long a keep-alive connection may wait for its next request")
	m.ops.registerOpsFlags(fs)
	m.ingest.registerIngestFlags(fs)
	m.cluster.registerClusterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if err := m.ingest.check(); err != nil {
		return err
	}
	if err := m.cluster.check(); err != nil {
		return err
	}
	if m.MemoryBudget < 0 {
		return fmt.Errorf("--memory-budget must be 0 or more bytes, got %d", m.MemoryBudget)
	}
	if m.KeywordMemory < 0 {
		return fmt.Errorf("--keyword-memory must be 0 or more bytes, got %d", m.KeywordMemory)
	}
	// Secrets come only from the environment, never from flags.
	m.AdminKey = os.Getenv("RAGD_ADMIN_KEY")
	return nil
}

// envInt returns the environment variable name as an integer, or def when
// unset or not a number.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

// embedders returns the registry of the built-in and remote embedding
// models with the given default.
func embedders(ctx context.Context, defaultModel string, fc *fileConfig) (*embed.Registry, error) {
	models, err := embed.Builtin()
	if err != nil {
		return nil, err
	}
	remote, err := remoteEmbedders(ctx, fc)
	if err != nil {
		return nil, err
	}
	if defaultModel == "" {
		defaultModel = fc.Embedding.DefaultModel
	}
	if defaultModel == "" {
		defaultModel = embed.DefaultModelName
	}
	reg := embed.NewRegistry(defaultModel, append(models, remote...)...)
	if _, err := reg.Get(defaultModel); err != nil {
		return nil, fmt.Errorf("--embedding-model: %w", err)
	}
	return reg, nil
}

// newLogger returns the logger of --log-format and --log-level on w.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var opts slog.HandlerOptions
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts.Level = lv
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, &opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, &opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is neither json nor text", format)
}

// Run serves until ctx ends, then shuts down gracefully.
func (m *Main) Run(ctx context.Context) error {
	log, err := newLogger(m.stderr, m.LogFormat, m.LogLevel)
	if err != nil {
		return err
	}
	// Packages that log through slog's or the log package's default
	// (net/http's server errors) write in the same format to the same
	// place.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(log)
	unlock, err := lockDataDir(m.DataDir)
	if err != nil {
		return err
	}
	defer unlock()
	storeOpts := []store.Option{store.WithLogger(log), store.WithMemoryBudget(m.MemoryBudget), store.WithKeywordMemory(m.KeywordMemory)}
	var st *store.Store
	// In a cluster the node opens the store, after restoring a snapshot
	// into it if the replicated log no longer holds what it lacks.
	var node *cluster.Node
	if m.cluster.enabled() {
		if m.AdminKey == "" {
			// Each node would create its own first key; an operator gives
			// all nodes the same one and creates the others through the API.
			return errors.New("a cluster node needs RAGD_ADMIN_KEY (the same on every node); create further keys through POST /v1/keys")
		}
		if node, err = m.cluster.open(ctx, m.DataDir, log, storeOpts...); err != nil {
			return err
		}
		defer node.Close()
		st = node.Store()
	} else {
		if st, err = createStore(m.DataDir, storeOpts...); err != nil {
			return err
		}
		defer st.Close()
	}
	if err := m.ensureAdminKey(ctx, st); err != nil {
		return err
	}
	fc, err := loadConfig(m.Config)
	if err != nil {
		return err
	}
	reg, err := embedders(ctx, m.EmbeddingModel, fc)
	if err != nil {
		return err
	}
	rr, err := rerankers(fc)
	if err != nil {
		return err
	}
	cc, err := chatConfig(fc)
	if err != nil {
		return err
	}
	chat, err := rag.NewRouter(cc)
	if err != nil {
		return err
	}
	mc, err := mediaConfig(fc)
	if err != nil {
		return err
	}
	mediaModels, err := media.NewRouter(mc)
	if err != nil {
		return err
	}
	priced, err := prices(fc)
	if err != nil {
		return err
	}
	ops, err := m.ops.config()
	if err != nil {
		return err
	}
	// Every state change, the ingester's file writes included, passes one
	// write seam: on one node, the store itself; in a cluster, the
	// replicated log that every node applies to its store.
	var writer service.Writer = st
	if node != nil {
		writer = node.Writer()
	}
	icfg := ingest.Config{Dir: filepath.Join(m.DataDir, "files"), Workers: m.Workers, MaxFileBytes: m.MaxFileBytes, Logger: log, Writer: writer}
	if node != nil {
		icfg.Queue, icfg.Blobs = node.Queue(), node.Blobs()
	}
	m.ingest.apply(&icfg)
	ing, err := ingest.New(st, reg, icfg)
	if err != nil {
		return err
	}
	if node != nil {
		node.OnFilesDeleted(ing.ForgetLocal)
	}
	scfg := service.Config{Store: st, Writer: writer, Chat: chat, Media: mediaModels, WebhookDestinations: ops.Webhooks.Destinations,
		StorageLimit: m.StorageLimitBytes, Embedders: reg, Rerankers: rr, Ingester: ing, Logger: log}
	if m.DefaultRerank != rerank.NoModel {
		if _, err := rr.Get("default-rerank", m.DefaultRerank); err != nil {
			return fmt.Errorf("--default-rerank: %w", err)
		}
		scfg.DefaultRerank = rerank.DefaultOptions(m.DefaultRerank)
	}
	if node != nil {
		scfg.ClusterUsage = node
	}
	svc := service.New(scfg)
	srvCfg := server.Config{MaxBodyBytes: m.MaxBodyBytes, AdminKey: m.AdminKey, Logger: log, Ops: ops,
		MaxRerankDocuments: m.MaxRerankDocuments, MaxRerankBytes: m.MaxRerankBytes, Timeouts: m.Timeouts, Prices: priced}
	if node != nil {
		srvCfg.Cluster = node
	}
	srv := server.New(svc, srvCfg)
	if err := ing.Start(ctx); err != nil {
		return err
	}
	if err := srv.Open(m.Addr); err != nil {
		ing.Close(ctx)
		return err
	}
	fmt.Fprintf(m.stdout, "ragd %s serving %s (data: %s)\n", version, srv.URL(), m.DataDir)
	log.Info("serving", "url", srv.URL(), "data_dir", m.DataDir, "version", version)
	if m.Ready != nil {
		m.Ready <- srv.URL()
	}
	<-ctx.Done()
	log.Info("shutting down", "grace", m.Grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), m.Grace)
	defer cancel()
	// Workers stop first so that uploads waiting on them return at once;
	// an ingest cut short is queued again for the next start. Then the
	// server drains requests and flushes usage and logs.
	if err := errors.Join(ing.Close(sctx), srv.Close(sctx)); err != nil {
		return fmt.Errorf("shutdown within %s: %w", m.Grace, err)
	}
	log.Info("stopped", "grace", m.Grace.String())
	return nil
}

// ensureAdminKey creates and prints an admin key on first start, when no
// key exists and RAGD_ADMIN_KEY is not set. On a later start it says how
// to create another, since a key is shown only once.
func (m *Main) ensureAdminKey(ctx context.Context, st *store.Store) error {
	if m.AdminKey != "" {
		return nil
	}
	n, err := st.CountKeys(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(m.stdout, "This data directory has %d API key(s), shown only when created. To create an admin key, run:\n\n    ragd keys create --admin --data-dir %s\n\n", n, m.DataDir)
		return nil
	}
	k := &ragd.Key{Name: "first admin key", Workspace: ragd.DefaultWorkspace, Admin: true}
	if err := service.New(service.Config{Store: st}).CreateKey(ctx, k); err != nil {
		return err
	}
	fmt.Fprintf(m.stdout, "Created an admin API key (shown only once, store it now):\n\n    %s\n\nUse it as: curl -H 'Authorization: Bearer %s' ...\n\n", k.Secret, k.Secret)
	return nil
}
