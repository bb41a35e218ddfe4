package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ragd/ragd"

	"github.com/ragd/ragd/media"
	"github.com/ragd/ragd/rag"
)

func TestChatConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ragd.yaml")
	os.WriteFile(path, []byte(`chat:
  default_model: gpt-4o-mini
  providers:
    - name: openai
      type: openai
      base_url: https://api.example.test/v1
      api_key_env: TEST_UPSTREAM_KEY
      models:
        - id: gpt-4o-mini
          fallback: [llama3.1]
    - name: local
      base_url: http://127.0.0.1:11434/v1
      models:
        - id: llama3.1
          context_window: 32768
`), 0o600)
	t.Setenv("TEST_UPSTREAM_KEY", "sk-from-env")
	fc, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := chatConfig(fc)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Providers) != 2 || cfg.Providers[0].APIKey != "sk-from-env" || cfg.DefaultModel != "gpt-4o-mini" ||
		cfg.Providers[0].Models[0].Fallback[0] != "llama3.1" || cfg.Providers[1].Models[0].ContextWindow != 32768 {
		t.Fatalf("config %+v", cfg)
	}
	t.Setenv("TEST_UPSTREAM_KEY", "")
	if _, err := chatConfig(fc); err == nil || !strings.Contains(err.Error(), "TEST_UPSTREAM_KEY") {
		t.Fatalf("empty key env: %v", err)
	}
	os.WriteFile(path, []byte("chat:\n  providers:\n    - name: x\n      api_key: inline-secret\n"), 0o600)
	if _, err := loadConfig(path); err == nil {
		t.Fatal("an inline api_key was accepted; keys come only from the environment")
	}
}

func TestRemoteEmbeddersFromEnv(t *testing.T) {
	var paths []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path+" "+r.Header.Get("Authorization"))
		var req struct {
			Input []string `json:"input"`
			Model string   `json:"model"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		data := []map[string]any{}
		for i := range req.Input {
			data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": []float64{1, 2, 3, 4}})
		}
		json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": req.Model, "data": data})
	}))
	defer up.Close()
	url, _, stop := startMain(t, t.TempDir(), map[string]string{"RAGD_ADMIN_KEY": "admin-secret-key-2",
		"RAGD_EMBED_BASE_URL": up.URL + "/v1", "RAGD_EMBED_API_KEY": "emb-key", "RAGD_EMBED_MODELS": "bge-small"})
	defer stop()
	st, b := apiCall(t, "POST", url+"/v1/vector_store", "admin-secret-key-2", map[string]any{"name": "remote", "embedding_model": "bge-small"})
	if st != 201 || b["collection"].(map[string]any)["dimensions"] != 4.0 {
		t.Fatalf("collection on a remote model: %d %v", st, b)
	}
	if st, b = apiCall(t, "POST", url+"/v1/vector_store/remote/items", "admin-secret-key-2", map[string]any{"content": "remote vectors"}); st != 201 {
		t.Fatalf("item: %d %v", st, b)
	}
	if len(paths) < 2 || paths[0] != "/v1/embeddings Bearer emb-key" {
		t.Fatalf("upstream saw %v", paths)
	}
}

// A chat provider's models may be media models (kind), which go to the
// media router with the provider's URL and key; the chat router sees only
// chat models, and a provider of media models only is no chat provider.
func TestMediaModelsInConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ragd.yaml")
	os.WriteFile(path, []byte(`chat:
  providers:
    - name: openai
      base_url: https://api.example.test/v1
      api_key_env: TEST_UPSTREAM_KEY
      models:
        - id: gpt-4o-mini
        - id: tts-1
          kind: speech
          voices: [alloy, nova]
        - id: whisper-1
          kind: transcription
    - name: studio
      base_url: https://studio.example.test/v1
      timeout: 10m
      models:
        - id: veo
          upstream: veo-3.0
          kind: video
`), 0o600)
	t.Setenv("TEST_UPSTREAM_KEY", "sk-from-env")
	t.Setenv("RAGD_CONFIG", path)
	fc, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := chatConfig(fc)
	if err != nil || len(cc.Providers) != 1 || len(cc.Providers[0].Models) != 1 || cc.Providers[0].Models[0].ID != "gpt-4o-mini" {
		t.Fatalf("chat config %+v, %v", cc, err)
	}
	mc, err := mediaConfig(fc)
	if err != nil || len(mc.Providers) != 2 || mc.Providers[0].APIKey != "sk-from-env" || len(mc.Providers[0].Models) != 2 ||
		mc.Providers[0].Models[0].Voices[1] != "nova" || mc.Providers[1].Models[0].Upstream != "veo-3.0" || mc.Providers[1].Timeout.Minutes() != 10 {
		t.Fatalf("media config %+v, %v", mc, err)
	}
	url, _, stop := startMain(t, t.TempDir(), map[string]string{"RAGD_ADMIN_KEY": "admin-secret"})
	defer stop()
	status, body := apiCall(t, "GET", url+"/v1/audio/models", "admin-secret", nil)
	speech, _ := body["speech"].([]any)
	if status != 200 || len(speech) != 1 || speech[0].(map[string]any)["id"] != "tts-1" {
		t.Fatalf("%d %v", status, body)
	}
}

// The README's media config example loads and builds both routers.
func TestREADMEMediaConfig(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "### Speech, transcription, images, video and music")
	_, block, _ := strings.Cut(section, "```yaml\n")
	block, _, _ = strings.Cut(block, "```")
	if !ok || !strings.Contains(block, "kind: speech") {
		t.Fatalf("no media config example in the README: %q", block)
	}
	path := filepath.Join(t.TempDir(), "ragd.yaml")
	os.WriteFile(path, []byte(block), 0o600)
	t.Setenv("OPENAI_API_KEY", "sk-test")
	t.Setenv("STUDIO_API_KEY", "sk-studio")
	fc, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := chatConfig(fc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rag.NewRouter(cc); err != nil {
		t.Fatal(err)
	}
	mc, err := mediaConfig(fc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := media.NewRouter(mc)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range media.Kinds {
		if len(r.Models(k)) == 0 {
			t.Errorf("the README's example configures no %s model", k)
		}
	}
}

func TestPricesFromConfigFile(t *testing.T) {
	const base = `chat:
  providers:
    - name: openai
      base_url: https://api.example.test/v1
      models:
        - id: gpt-4o-mini
          price: {input_per_1k: 0.15, output_per_1k: 0.6}
        - id: free-model
embedding:
  providers:
    - name: emb
      base_url: https://api.example.test/v1
      models:
        - id: text-embedding-3-small
          dimensions: 8
          price: {input_per_1k: 0.02}
rerank:
  providers:
    - name: rr
      base_url: https://api.example.test
      models:
        - id: rerank-1
          price: {per_request: 0.5}
`
	for _, tc := range []struct {
		name, extra string
		want        map[string]ragd.Price
		err         string
	}{
		{name: "Valid", want: map[string]ragd.Price{"gpt-4o-mini": {InputPer1K: 0.15, OutputPer1K: 0.6},
			"text-embedding-3-small": {InputPer1K: 0.02}, "rerank-1": {PerRequest: 0.5}}},
		{name: "ErrNegative", extra: "        - id: bad\n          price: {per_request: -1}\n", err: "price.per_request must not be negative"},
		{name: "ErrTwice", extra: "        - id: gpt-4o-mini\n          price: {per_request: 1}\n", err: `rerank model "gpt-4o-mini": another model of that id has a price already`},
		{name: "ErrUnknownField", extra: "        - id: x\n          price: {per_token: 1}\n", err: "per_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ragd.yaml")
			os.WriteFile(path, []byte(base+tc.extra), 0o600)
			fc, err := loadConfig(path)
			var got map[string]ragd.Price
			if err == nil {
				got, err = prices(fc)
			}
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want %q", err, tc.err)
			case tc.err == "" && (err != nil || !reflect.DeepEqual(got, tc.want)):
				t.Fatalf("prices %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}
