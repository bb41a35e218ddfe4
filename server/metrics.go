package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/rerank"
)

// Metrics holds the server's Prometheus metrics, served at /metrics. The
// ingest pool and chat handlers update the exported ones.
type Metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	embedLatency  *prometheus.HistogramVec
	chatLatency   *prometheus.HistogramVec
	rerankLatency *prometheus.HistogramVec
	logsDropped   prometheus.Counter

	// IngestQueueDepth is the number of files waiting for or in ingestion.
	IngestQueueDepth prometheus.Gauge
	// IngestJobs counts finished ingest jobs by outcome ("completed",
	// "failed").
	IngestJobs *prometheus.CounterVec
}

// newMetrics registers the metrics of a server whose database holds
// dbBytes and whose vector cache reports vecCache.
func newMetrics(dbBytes func() int64, vecCache func() (bytes, chunkLoads int64)) *Metrics {
	latencyBuckets := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ragd_http_requests_total",
			Help: "HTTP requests by method, route pattern and status."}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ragd_http_request_duration_seconds",
			Help: "HTTP request latency by method and route pattern.", Buckets: latencyBuckets}, []string{"method", "route"}),
		embedLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ragd_embedding_duration_seconds",
			Help: "Latency of embedding calls by provider and model.", Buckets: latencyBuckets}, []string{"provider", "model", "outcome"}),
		chatLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ragd_chat_duration_seconds",
			Help: "Latency of chat model calls by provider and model.", Buckets: latencyBuckets}, []string{"provider", "model", "outcome"}),
		rerankLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ragd_rerank_duration_seconds",
			Help: "Latency of rerank calls by provider and model.", Buckets: latencyBuckets}, []string{"provider", "model", "outcome"}),
		logsDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "ragd_request_logs_dropped_total",
			Help: "Request log entries dropped because the writer fell too far behind."}),
		IngestQueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ragd_ingest_queue_depth",
			Help: "Files waiting for or in ingestion."}),
		IngestJobs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ragd_ingest_jobs_total",
			Help: "Finished ingest jobs by outcome."}, []string{"outcome"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.embedLatency, m.chatLatency, m.rerankLatency, m.logsDropped, m.IngestQueueDepth, m.IngestJobs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ragd_database_bytes",
			Help: "Size of the database file and its WAL."}, func() float64 { return float64(dbBytes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ragd_vector_cache_bytes",
			Help: "Bytes of vectors and codes the vector cache holds in memory."}, func() float64 { b, _ := vecCache(); return float64(b) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ragd_vector_cache_chunk_loads_total",
			Help: "Chunks of vectors (1,024 each) the vector cache read from the database: a first search, writes, or eviction under --memory-budget."},
			func() float64 { _, l := vecCache(); return float64(l) }))
	return m
}

// Metrics returns the server's metrics, for the ingest pool and chat
// providers to update.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// outcome labels a call's result.
func outcome(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// ObserveChat records the latency of one chat model call.
func (m *Metrics) ObserveChat(provider, model string, d time.Duration, err error) {
	m.chatLatency.WithLabelValues(provider, model, outcome(err)).Observe(d.Seconds())
}

// ObserveEmbedding records the latency of one embedding call.
func (m *Metrics) ObserveEmbedding(provider, model string, d time.Duration, err error) {
	m.embedLatency.WithLabelValues(provider, model, outcome(err)).Observe(d.Seconds())
}

// labelledMethods are the HTTP methods with a label value of their own.
// Clients may send any token as a method, so every other one is counted
// as "OTHER": a label value per invented method grew /metrics by a series
// per request.
var labelledMethods = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true}

// observeRequest records one finished HTTP request; route is a route
// pattern or "unmatched", never a client's path.
func (m *Metrics) observeRequest(method, route string, status int, d time.Duration) {
	if !labelledMethods[method] {
		method = "OTHER"
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}

// providerNamer is implemented by embedders that name their provider.
type providerNamer interface{ Provider() string }

// pinger is implemented by embedders and chat providers that can check
// their upstream.
type pinger interface {
	Ping(ctx context.Context) error
}

// timedEmbedder records the latency of every Embed call of an embedder.
type timedEmbedder struct {
	embed.Embedder
	provider string
	m        *Metrics
}

// Embed embeds texts and records how long it took.
func (t timedEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	start := time.Now()
	v, err := t.Embedder.Embed(ctx, texts)
	t.m.ObserveEmbedding(t.provider, t.Name(), time.Since(start), err)
	return v, err
}

// Ping checks the embedder's upstream, when it can.
func (t timedEmbedder) Ping(ctx context.Context) error {
	if p, ok := t.Embedder.(pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// embedderProvider names the provider of e: its own answer, else
// "builtin".
func embedderProvider(e embed.Embedder) string {
	if p, ok := e.(providerNamer); ok {
		return p.Provider()
	}
	return "builtin"
}

// timeEmbedder returns e with its Embed calls timed. The server wraps the
// registry it shares with the ingest pool, so file ingest is timed too.
func (m *Metrics) timeEmbedder(e embed.Embedder) embed.Embedder {
	return timedEmbedder{Embedder: e, provider: embedderProvider(e), m: m}
}

// timedReranker records the latency of every Rerank call of a reranker.
type timedReranker struct {
	rerank.Reranker
	provider string
	m        *Metrics
}

// Rerank scores documents and records how long it took.
func (t timedReranker) Rerank(ctx context.Context, query string, documents []string) ([]float64, error) {
	start := time.Now()
	scores, err := t.Reranker.Rerank(ctx, query, documents)
	t.m.rerankLatency.WithLabelValues(t.provider, t.Name(), outcome(err)).Observe(time.Since(start).Seconds())
	return scores, err
}

// Provider names the reranker's provider.
func (t timedReranker) Provider() string { return t.provider }

// Unwrap returns the timed reranker, so a search still blends the scores
// of a rerank.Blender.
func (t timedReranker) Unwrap() rerank.Reranker { return t.Reranker }

// instrumentRerankers returns a registry of the same models whose Rerank
// calls are timed.
func (m *Metrics) instrumentRerankers(reg *rerank.Registry) *rerank.Registry {
	var list []rerank.Reranker
	for _, r := range reg.List() {
		provider := "unknown"
		if p, ok := r.(providerNamer); ok {
			provider = p.Provider()
		}
		list = append(list, timedReranker{Reranker: r, provider: provider, m: m})
	}
	return rerank.NewRegistry(list...)
}

// Routes returns every route registered on the server, for documentation
// and the authorization tests.
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }
