// Package server is ragd's HTTP API: Echo handlers, one file per resource,
// the middleware every request passes (request id, recovery, auth, logs)
// and the one mapping from errors to HTTP statuses (errors.go).
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/rag"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/webhook"
)

// Config holds the server's settings.
type Config struct {
	// MaxBodyBytes limits JSON request bodies (413 past it).
	MaxBodyBytes int64
	// AdminKey, when set, is accepted as an admin key of the default
	// workspace (RAGD_ADMIN_KEY).
	AdminKey string
	// Logger receives one line per request and every server error.
	Logger *slog.Logger
	// Ingester receives and ingests uploaded files; without it the file
	// routes are not served.
	Ingester *ingest.Ingester
	// Chat routes chat models to providers; nil means only the built-in
	// ragd-extractive model.
	Chat *rag.Router
	// Ops holds rate limits, logs, webhooks, CORS, TLS and health checks.
	Ops OpsConfig
}

// DefaultMaxBodyBytes is the default JSON body limit: room for a batch of
// 1000 items of a few KiB each.
const DefaultMaxBodyBytes = 32 << 20

// Server serves the ragd API over a store and embedders.
type Server struct {
	store     *store.Store
	embedders *embed.Registry
	chat      *rag.Router
	cfg       Config
	log       *slog.Logger
	echo      *echo.Echo
	http      *http.Server
	ln        net.Listener

	limits        *rateLimiter
	usage         *usageRecorder
	logs          *logBuffer
	metrics       *Metrics
	flushMu       sync.RWMutex // held by flush, read-held by readers of usage and logs
	webhooks      *webhook.Dispatcher
	shutdownHooks []func(context.Context) error
	stopFlush     chan struct{}
	flushDone     chan struct{}
	closeOnce     sync.Once
}

// New returns a server over st and the embedders; call Open to listen.
func New(st *store.Store, embedders *embed.Registry, cfg Config) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Chat == nil {
		router, err := rag.NewRouter(rag.Config{})
		if err != nil {
			panic(err) // the built-in model alone always configures
		}
		cfg.Chat = router
	}
	s := &Server{store: st, embedders: embedders, chat: cfg.Chat, cfg: cfg, log: cfg.Logger}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(requestID, s.logRequests, middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogLevel: 0,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.log.Error("panic", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err, "stack", string(stack))
			return err
		}}))
	s.initOps(e)
	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)
	v1 := e.Group("/v1", s.authenticate, s.rateLimit)
	s.registerCollectionRoutes(v1)
	s.registerItemRoutes(v1)
	if cfg.Ingester != nil {
		s.registerFileRoutes(v1)
		cfg.Ingester.Observe(s)
	}
	s.registerSearchRoutes(v1)
	s.registerKeyRoutes(v1)
	s.registerWorkspaceRoutes(v1)
	s.registerEmbeddingRoutes(v1)
	s.registerModelRoutes(v1)
	s.registerChatRoutes(v1)
	s.registerOpsRoutes(v1)
	s.echo = e
	return s
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Open starts serving on addr ("127.0.0.1:0" picks a free port).
func (s *Server) Open(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if ln, err = s.tlsListener(ln); err != nil {
		return err
	}
	s.ln = ln
	s.http = &http.Server{Handler: s.echo, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	return nil
}

// URL returns the base URL the server listens on.
func (s *Server) URL() string {
	if s.cfg.Ops.TLSCertFile != "" {
		return "https://" + s.ln.Addr().String()
	}
	return "http://" + s.ln.Addr().String()
}

// Close stops accepting connections, waits for in-flight requests until
// ctx is done, then runs the shutdown hooks, stops webhook delivery and
// writes the last usage and request logs. The caller closes the store.
func (s *Server) Close(ctx context.Context) error {
	var err error
	if s.http != nil {
		err = s.http.Shutdown(ctx)
	}
	return errors.Join(err, s.closeOps(ctx))
}
