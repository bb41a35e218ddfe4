package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/rag"
	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store/storetest"
)

// deadURL returns the URL of a loopback port nobody listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

// GET /v1/health checks every configured chat provider on its upstream
// (GET /models with its key) beside the database and embedding models.
func TestHealth(t *testing.T) {
	up := newUpstream(t)
	live := rag.ProviderConfig{Name: "fake", BaseURL: up.URL + "/v1", APIKey: "upstream-secret", Models: []rag.ModelConfig{{ID: "gpt-4o-mini"}}}
	dead := rag.ProviderConfig{Name: "local-llm", BaseURL: deadURL(t) + "/v1", Models: []rag.ModelConfig{{ID: "llama3.1"}}}
	badKey := rag.ProviderConfig{Name: "stale-key", BaseURL: up.URL + "/v1", APIKey: "revoked", Models: []rag.ModelConfig{{ID: "gpt-4o"}}}
	deadEmbedder, err := embed.NewOllama(embed.RemoteConfig{BaseURL: deadURL(t), Model: "nomic-embed-text", Dimensions: 768})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		providers []rag.ProviderConfig
		embedders []embed.Embedder
		want      string
		down      map[string]string // provider or model -> part of its error
	}{
		{"OK", []rag.ProviderConfig{live}, nil, "ok", nil},
		{"DeadUpstream", []rag.ProviderConfig{live, dead}, nil, "degraded", map[string]string{"local-llm": `chat provider "local-llm" is unreachable`}},
		{"RefusedKey", []rag.ProviderConfig{live, badKey}, nil, "degraded", map[string]string{"stale-key": "refused ragd's API key (HTTP 401)"}},
		{"DeadEmbeddingUpstream", []rag.ProviderConfig{live}, []embed.Embedder{deadEmbedder}, "degraded",
			map[string]string{"nomic-embed-text": `embedding provider ollama (model "nomic-embed-text") is unreachable`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := newChatServerWith(t, c.embedders, c.providers...)
			b := ts.do(t, "GET", "/v1/health", ts.admin, nil).must(t, 200)
			if b["status"] != c.want {
				t.Errorf("status %v, want %s", b["status"], c.want)
			}
			db := obj(b["database"])
			if db["status"] != "ok" || db["bytes"].(float64) <= 0 {
				t.Errorf("database %v", db)
			}
			byName := map[string]map[string]any{}
			for _, p := range list(b["providers"]) {
				byName[str(obj(p)["name"])] = obj(p)
			}
			if h := byName[embed.HashModelName]; h["type"] != "embedding" || h["status"] != "ok" {
				t.Errorf("hash model %v", h)
			}
			if len(byName) != len(c.providers)+1+len(c.embedders) {
				t.Errorf("providers %v, want the %d chat providers, the hash model and %d others", byName, len(c.providers), len(c.embedders))
			}
			for _, e := range c.embedders {
				h := byName[e.Name()]
				if h["type"] != "embedding" || h["status"] != "down" || !strings.Contains(str(h["error"]), c.down[e.Name()]) {
					t.Errorf("embedding model %s: %v", e.Name(), h)
				}
			}
			for _, pc := range c.providers {
				h := byName[pc.Name]
				want, down := c.down[pc.Name]
				if h["type"] != "chat" || (h["status"] == "down") != down || !strings.Contains(str(h["error"]), want) {
					t.Errorf("chat provider %s: %v", pc.Name, h)
				}
			}
		})
	}
	ts := newOpsServer(t, server.OpsConfig{})
	for _, path := range []string{"/healthz", "/readyz"} {
		if b := ts.do(t, "GET", path, "", nil).must(t, 200); b["status"] != "ok" {
			t.Errorf("%s: %v", path, b)
		}
	}
}

func TestMetrics(t *testing.T) {
	ts := newOpsServer(t, server.OpsConfig{})
	col := ts.collection(t, ts.admin, "measured")
	ts.do(t, "POST", "/v1/vector_store/"+col+"/search", ts.admin, map[string]any{"input": "anything"}).must(t, 200)
	ts.do(t, "GET", "/v1/vector_store/col_none", ts.admin, nil).must(t, 404)
	ts.srv.Metrics().IngestQueueDepth.Set(3)
	ts.srv.Metrics().IngestJobs.WithLabelValues("completed").Add(2)
	ts.srv.Metrics().ObserveChat("openai", "gpt-4o-mini", 1500*time.Millisecond, nil)
	r := ts.do(t, "GET", "/metrics", "", nil)
	r.must(t, 200)
	text := string(r.raw)
	for _, want := range []string{
		`ragd_http_requests_total{method="POST",route="/v1/vector_store",status="201"} 1`,
		`ragd_http_requests_total{method="GET",route="/v1/vector_store/:id",status="404"} 1`,
		`ragd_http_request_duration_seconds_count{method="POST",route="/v1/vector_store/:id/search"} 1`,
		`ragd_embedding_duration_seconds_count{model="hash",outcome="ok",provider="builtin"} 1`,
		`ragd_chat_duration_seconds_bucket{model="gpt-4o-mini",outcome="ok",provider="openai",le="2.5"} 1`,
		`ragd_ingest_queue_depth 3`,
		`ragd_ingest_jobs_total{outcome="completed"} 2`,
		`ragd_database_bytes `,
		`go_goroutines `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestCORS(t *testing.T) {
	preflight := func(t *testing.T, ts *testServer, origin string) http.Header {
		req, _ := http.NewRequest("OPTIONS", ts.URL+"/v1/vector_store", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,openai-beta,x-stainless-os,x-user-id")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header
	}
	t.Run("OffByDefault", func(t *testing.T) {
		ts := newOpsServer(t, server.OpsConfig{})
		if h := preflight(t, ts, "https://app.example.com").Get("Access-Control-Allow-Origin"); h != "" {
			t.Errorf("Access-Control-Allow-Origin %q", h)
		}
	})
	t.Run("Configured", func(t *testing.T) {
		ts := newOpsServer(t, server.OpsConfig{CORSOrigins: []string{"https://app.example.com"}})
		h := preflight(t, ts, "https://app.example.com")
		if allow := strings.ToLower(h.Get("Access-Control-Allow-Headers")); h.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
			!strings.Contains(allow, "authorization") || !strings.Contains(allow, "openai-beta") || !strings.Contains(allow, "x-stainless-os") {
			t.Errorf("preflight headers %v", h)
		}
		req, _ := http.NewRequest("GET", ts.URL+"/v1/models", nil)
		req.Header.Set("Origin", "https://app.example.com")
		req.Header.Set("Authorization", "Bearer "+ts.admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if eh := resp.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(eh, "X-RateLimit-Remaining-Requests") || !strings.Contains(eh, "x-credits-used") {
			t.Errorf("expose headers %q", resp.Header.Get("Access-Control-Expose-Headers"))
		}
		if h := preflight(t, ts, "https://evil.example.com"); h.Get("Access-Control-Allow-Origin") != "" {
			t.Error("other origin allowed")
		}
	})
}

// selfSigned writes a certificate and key for 127.0.0.1 and returns their
// paths and a pool trusting the certificate.
func selfSigned(t *testing.T) (string, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ragd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certPath, keyPath, pool
}

func TestTLS(t *testing.T) {
	certPath, keyPath, pool := selfSigned(t)
	srv, _ := openServer(t, setup{cfg: server.Config{Ops: server.OpsConfig{TLSCertFile: certPath, TLSKeyFile: keyPath}}})
	if !strings.HasPrefix(srv.URL(), "https://") {
		t.Fatalf("URL %s", srv.URL())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(srv.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Errorf("status %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	// Plain HTTP gets no API answer.
	if resp, err := http.Get("http" + strings.TrimPrefix(srv.URL(), "https") + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP served")
		}
	}
	bad := server.New(service.New(service.Config{Store: storetest.MustOpen(t), Embedders: embed.NewRegistry(embed.HashModelName, embed.NewHash(64))}), server.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ops: server.OpsConfig{TLSCertFile: keyPath, TLSKeyFile: keyPath}})
	if err := bad.Open("127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "TLS certificate") {
		t.Errorf("bad certificate: %v", err)
	}
	bad.Close(context.Background())
}
