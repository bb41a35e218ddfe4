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
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/service"
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
	// Ops holds rate limits, logs, webhooks, CORS, TLS and health checks.
	Ops OpsConfig
	// MaxRerankDocuments limits the documents of one /v1/rerank call;
	// 0 means DefaultMaxRerankDocuments.
	MaxRerankDocuments int
	// MaxRerankBytes limits the query and documents of one /v1/rerank call
	// together; 0 means DefaultMaxRerankBytes.
	MaxRerankBytes int64
	// Timeouts bound each connection; zero fields take DefaultTimeouts'.
	Timeouts Timeouts
	// Prices are the models' prices by model id; a model without one
	// costs nothing.
	Prices map[string]ragd.Price
	// Cluster is the cluster this node belongs to; nil on a single node.
	Cluster Cluster
}

// Timeouts bound how long a connection may take, so that slow or idle
// clients cannot hold connections, with their goroutines and buffers,
// open without end.
type Timeouts struct {
	// ReadHeader is the time to read a request's headers.
	ReadHeader time.Duration
	// Read is the time to read a whole request, body included: an upload
	// of the largest allowed file must arrive within it.
	Read time.Duration
	// Write is the time from the end of a request's headers to the end of
	// its response. Streamed (server-sent events) responses have none: a
	// chat stream lasts as long as the model writes.
	Write time.Duration
	// Idle is how long a keep-alive connection may wait for its next
	// request.
	Idle time.Duration
}

// DefaultTimeouts are the connection timeouts of a server configured with
// none: a 512 MiB upload needs 1.7 MB/s to arrive within Read, and Write
// leaves a ?wait=true upload or a long RAG answer several minutes more.
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: 5 * time.Minute, Write: 10 * time.Minute, Idle: time.Minute}

// DefaultMaxBodyBytes is the default JSON body limit: room for a batch of
// 1000 items of a few KiB each.
const DefaultMaxBodyBytes = 32 << 20

// Server serves the ragd API over a store and embedders.
type Server struct {
	svc  *service.Service
	cfg  Config
	log  *slog.Logger
	echo *echo.Echo
	http *http.Server
	ln   net.Listener
	// openAPI is the rendered OpenAPI document of the server's routes.
	openAPI []byte

	limits        *rateLimiter
	usage         *usageRecorder
	logs          *logBuffer
	metrics       *Metrics
	flushMu       sync.RWMutex // held by flush, read-held by readers of usage and logs
	webhooks      *webhook.Dispatcher
	shutdownHooks []func(context.Context) error
	stopFlush     chan struct{}
	flushDone     chan struct{}
	startOnce     sync.Once
	closeOnce     sync.Once
}

// New returns a server of the use cases of svc; it starts nothing: Open
// listens and starts the background work (Start), Close stops both.
func New(svc *service.Service, cfg Config) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxRerankDocuments <= 0 {
		cfg.MaxRerankDocuments = DefaultMaxRerankDocuments
	}
	if cfg.MaxRerankBytes <= 0 {
		cfg.MaxRerankBytes = DefaultMaxRerankBytes
	}
	for _, t := range []struct{ v, def *time.Duration }{{&cfg.Timeouts.ReadHeader, &DefaultTimeouts.ReadHeader},
		{&cfg.Timeouts.Read, &DefaultTimeouts.Read}, {&cfg.Timeouts.Write, &DefaultTimeouts.Write}, {&cfg.Timeouts.Idle, &DefaultTimeouts.Idle}} {
		if *t.v <= 0 {
			*t.v = *t.def
		}
	}
	s := &Server{svc: svc, cfg: cfg, log: cfg.Logger}
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
	s.registerConsoleRoutes(e)
	e.GET(openAPIRoute, s.handleOpenAPI)
	// The /v1 middleware wraps every request under /v1 instead of being
	// the group's: Echo gives a group with middleware a catch-all route,
	// which answers 404 where a wrong method on a route must get 405 and
	// an Allow header.
	e.Use(under("/v1", s.authenticate, s.rateLimit, s.meter, s.syncCluster))
	v1 := e.Group("/v1")
	s.registerCollectionRoutes(v1)
	s.registerItemRoutes(v1)
	if ing := svc.Ingester(); ing != nil {
		s.registerFileRoutes(v1)
		s.registerOpenAIFileRoutes(v1)
		s.registerVectorStoreRoutes(v1)
		ing.Observe(s)
	}
	s.registerSearchRoutes(v1)
	s.registerKeyRoutes(v1)
	s.registerWorkspaceRoutes(v1)
	s.registerEmbeddingRoutes(v1)
	s.registerRerankRoutes(v1)
	s.registerModelRoutes(v1)
	s.registerChatRoutes(v1)
	s.registerMediaRoutes(v1)
	s.registerMemoryRoutes(v1)
	s.registerResponsesRoutes(v1)
	s.registerOpsRoutes(v1)
	s.echo = e
	// Every route is registered: the document can describe them all.
	s.openAPI = renderOpenAPI(e.Routes())
	return s
}

// under applies the middleware mws, in order, to requests whose path is
// prefix or below it, and passes other requests straight on.
func under(prefix string, mws ...echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		wrapped := next
		for i := len(mws) - 1; i >= 0; i-- {
			wrapped = mws[i](wrapped)
		}
		return func(c echo.Context) error {
			if p := c.Request().URL.Path; p == prefix || strings.HasPrefix(p, prefix+"/") {
				return wrapped(c)
			}
			return next(c)
		}
	}
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
	s.Start()
	t := s.cfg.Timeouts
	s.http = &http.Server{Handler: s.echo, ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write,
		IdleTimeout: t.Idle, MaxHeaderBytes: 64 << 10}
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
