package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ragd/ragd/rerank"
	"github.com/ragd/ragd/rerank/reranktest"
)

// countWord is the fake rerank model: how often "cat" appears.
func countWord(_, doc string) float64 { return float64(strings.Count(doc, "cat")) }

// Rerank providers come from the environment (one upstream) and from the
// config file, and answer /v1/rerank through the whole program.
func TestRerankersFromEnvAndConfig(t *testing.T) {
	tei := reranktest.New(t, reranktest.TEI, countWord)
	cohere := reranktest.New(t, reranktest.Cohere, countWord)
	path := filepath.Join(t.TempDir(), "ragd.yaml")
	os.WriteFile(path, []byte(`rerank:
  providers:
    - name: cohere-compatible
      base_url: `+cohere.Config().BaseURL+`
      api_key_env: TEST_RERANK_KEY
      batch_size: 2
      max_retries: 0
      models:
        - id: `+cohere.Model+`
`), 0o600)
	url, _, stop := startMain(t, t.TempDir(), map[string]string{"RAGD_ADMIN_KEY": "admin-secret-key-3", "RAGD_CONFIG": path,
		"TEST_RERANK_KEY": cohere.Key, "RAGD_RERANK_BASE_URL": tei.URL, "RAGD_RERANK_TYPE": "tei",
		"RAGD_RERANK_API_KEY": tei.Key, "RAGD_RERANK_MODELS": "bge-reranker-base"})
	defer stop()
	docs := []string{"a dog", "cat cat cat", "one cat"}
	for _, model := range []string{"bge-reranker-base", cohere.Model} {
		st, b := apiCall(t, "POST", url+"/v1/rerank", "admin-secret-key-3", map[string]any{"model": model, "query": "cats", "documents": docs})
		if st != 200 {
			t.Fatalf("%s: %d %v", model, st, b)
		}
		var order []int
		for _, r := range b["results"].([]any) {
			order = append(order, int(r.(map[string]any)["index"].(float64)))
		}
		if len(order) != 3 || order[0] != 1 || order[1] != 2 || order[2] != 0 {
			t.Errorf("%s: order %v, want [1 2 0]", model, order)
		}
	}
	if n := len(tei.Requests()); n != 1 {
		t.Errorf("TEI got %d requests, want 1", n)
	}
	if n := len(cohere.Requests()); n != 2 {
		t.Errorf("Cohere-compatible server got %d requests, want 2 (batch_size 2, 3 documents)", n)
	}
	_, b := apiCall(t, "GET", url+"/v1/models", "admin-secret-key-3", nil)
	types := map[string]string{}
	for _, m := range b["data"].([]any) {
		m := m.(map[string]any)
		types[m["id"].(string)] = m["type"].(string) + "/" + m["owned_by"].(string)
	}
	if types["bge-reranker-base"] != "rerank/tei" || types[cohere.Model] != "rerank/cohere" {
		t.Errorf("models %v, want both rerank models with their provider", types)
	}
}

func TestRerankConfigErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		env        map[string]string
		want       string
	}{
		{"UnknownType", "rerank:\n  providers:\n    - name: x\n      type: jina\n      base_url: http://127.0.0.1:1\n      models: [{id: m}]\n",
			nil, `unknown type "jina"; use cohere or tei`},
		{"EmptyKeyEnv", "rerank:\n  providers:\n    - name: x\n      base_url: http://127.0.0.1:1\n      api_key_env: TEST_EMPTY_RERANK_KEY\n      models: [{id: m}]\n",
			map[string]string{"TEST_EMPTY_RERANK_KEY": ""}, "TEST_EMPTY_RERANK_KEY is empty"},
		{"NoModels", "rerank:\n  providers:\n    - name: x\n      base_url: http://127.0.0.1:1\n",
			nil, `rerank provider "x" lists no models`},
		{"BadBaseURL", "rerank:\n  providers:\n    - name: x\n      type: tei\n      base_url: 127.0.0.1:8082\n      models: [{id: m}]\n",
			nil, "needs an http(s) base URL"},
		{"EnvWithoutModels", "rerank: {}\n", map[string]string{"RAGD_RERANK_BASE_URL": "http://127.0.0.1:1"}, "RAGD_RERANK_MODELS names no model"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			path := filepath.Join(t.TempDir(), "ragd.yaml")
			os.WriteFile(path, []byte(c.yaml), 0o600)
			fc, err := loadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rerankers(fc); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

// The README's /v1/rerank example works as written, and its response
// shows the shape and token count ragd really answers with.
func TestREADMERerankExample(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "**`POST /v1/rerank`**")
	if !ok {
		t.Fatal("README has no POST /v1/rerank paragraph")
	}
	_, cmd, _ := strings.Cut(section, "```sh\n")
	cmd, rest, _ := strings.Cut(cmd, "```")
	_, example, _ := strings.Cut(rest, "```json\n")
	example, _, _ = strings.Cut(example, "```")
	var want map[string]any
	// The example shortens the id; everything else is literal JSON.
	if err := json.Unmarshal([]byte(strings.Replace(example, `"4f0c..."`, `"x"`, 1)), &want); err != nil {
		t.Fatalf("README response example is not JSON: %v\n%s", err, example)
	}

	tei := reranktest.New(t, reranktest.TEI, countWord)
	url, _, stop := startMain(t, t.TempDir(), map[string]string{"RAGD_ADMIN_KEY": "admin-secret-key-4",
		"RAGD_RERANK_BASE_URL": tei.URL, "RAGD_RERANK_TYPE": "tei", "RAGD_RERANK_API_KEY": tei.Key, "RAGD_RERANK_MODELS": "bge-reranker-base"})
	defer stop()
	c := exec.Command("bash", "-c", strings.ReplaceAll(strings.ReplaceAll(cmd, "\\\n", " "), "http://127.0.0.1:8080", url))
	c.Env = append(os.Environ(), "RAGD_KEY=admin-secret-key-4")
	out, err := c.Output()
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil || got["error"] != nil {
		t.Fatalf("answered %s", out)
	}
	docs := tei.Requests()[0].Documents
	results, wantResults := got["results"].([]any), want["results"].([]any)
	if len(results) != len(wantResults) || got["model"] != want["model"] || fmt.Sprint(got["usage"]) != fmt.Sprint(want["usage"]) {
		t.Fatalf("answer %s, README shows %s", out, example)
	}
	for _, r := range results {
		r := r.(map[string]any)
		i := int(r["index"].(float64))
		if r["document"].(map[string]any)["text"] != docs[i] || len(r) != len(wantResults[0].(map[string]any)) {
			t.Errorf("result %v does not have the README's shape with the text of document %d", r, i)
		}
	}
}

// The built-in reranker is the default rerank of hybrid searches of
// ragd-static collections; --default-rerank (RAGD_DEFAULT_RERANK) names
// another or none, and a model that does not exist stops the server.
func TestDefaultRerankFlag(t *testing.T) {
	for _, c := range []struct {
		setting  string
		reranked bool
	}{{"", true}, {"none", false}} {
		t.Run("Setting"+c.setting, func(t *testing.T) {
			env := map[string]string{"RAGD_ADMIN_KEY": "admin-secret-key-5"}
			if c.setting != "" {
				env["RAGD_DEFAULT_RERANK"] = c.setting
			}
			url, _, stop := startMain(t, t.TempDir(), env)
			defer stop()
			st, b := apiCall(t, "POST", url+"/v1/vector_store", "admin-secret-key-5", map[string]any{"name": "kb"})
			if st != 201 {
				t.Fatalf("create: %d %v", st, b)
			}
			col := b["collection"].(map[string]any)["id"].(string)
			for _, text := range []string{"Back up the database with the backup command.", "Zebras have stripes."} {
				if st, b := apiCall(t, "POST", url+"/v1/vector_store/"+col+"/items", "admin-secret-key-5", map[string]any{"content": text}); st != 201 {
					t.Fatalf("add: %d %v", st, b)
				}
			}
			st, b = apiCall(t, "POST", url+"/v1/vector_store/"+col+"/search", "admin-secret-key-5", map[string]any{"input": "how to back up"})
			res, _ := b["results"].([]any)
			if st != 200 || len(res) == 0 {
				t.Fatalf("search: %d %v", st, b)
			}
			if _, got := res[0].(map[string]any)["rerank_score"]; got != c.reranked {
				t.Errorf("RAGD_DEFAULT_RERANK=%q: first result %v, reranked %v", c.setting, res[0], c.reranked)
			}
		})
	}
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--default-rerank", "nope"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "--default-rerank") || !strings.Contains(err.Error(), rerank.LiteName) {
		t.Errorf("--default-rerank nope: %v, want an error naming the flag and the available models", err)
	}
}
