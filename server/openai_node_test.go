package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/internal/testnode"
	"github.com/ragd/ragd/server"
)

// nodeTests is the Node package of the OpenAI Node SDK tests; make test
// installs its node_modules (npm ci) before running the Go tests.
const nodeTests = "../test/openai-node"

// nodeSDK returns the node binary and the directory of the Node SDK tests,
// failing the test, never skipping it, when either is missing.
func nodeSDK(t *testing.T) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: the OpenAI Node SDK tests need Node.js and npm (make deps installs them)")
	}
	dir, err = filepath.Abs(nodeTests)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json")); err != nil {
		t.Fatalf("the openai npm package is not installed in %s: run make test, whose first step is npm ci --prefix test/openai-node (%v)", dir, err)
	}
	return node, dir
}

// TestOpenAINodeSDK drives the Files, Vector Stores and Responses routes
// with the official OpenAI Node SDK (test/openai-node/sdk.test.mjs): two
// workspaces' keys, files ingested by real workers, the offline chat model
// ragd-extractive. Then it runs the README's Node example as written.
func TestOpenAINodeSDK(t *testing.T) {
	node, dir := nodeSDK(t)
	// No rate limit: the SDKs poll while files are ingested.
	ts := serve(t, setup{ingest: &ingest.Config{Workers: 2}, cfg: server.Config{Ops: server.OpsConfig{DefaultTier: &server.Tier{Name: "unlimited"}}}})
	other := ts.key(t, "other", true)
	t.Run("sdk.test.mjs", func(t *testing.T) {
		testnode.Run(t, node, dir, 3*time.Minute, []string{"RAGD_URL=" + ts.URL, "RAGD_KEY=" + ts.admin, "RAGD_OTHER_KEY=" + other}, nil,
			"--test", "--test-reporter=spec", "sdk.test.mjs")
	})
	t.Run("README", func(t *testing.T) {
		readme, err := os.ReadFile("../README.md")
		if err != nil {
			t.Fatal(err)
		}
		_, section, ok := strings.Cut(string(readme), "## Using ragd from OpenAI SDK code")
		_, code, _ := strings.Cut(section, "```js\n")
		code, _, _ = strings.Cut(code, "```")
		if !ok || !strings.Contains(code, "http://localhost:8080/v1") {
			t.Fatalf("no Node example with http://localhost:8080/v1 in the README's SDK section: %q", code)
		}
		// The example's paths are relative to the repository; it runs in
		// the Node package, where the openai package is installed.
		root, err := filepath.Abs("..")
		if err != nil {
			t.Fatal(err)
		}
		code = strings.ReplaceAll(code, "http://localhost:8080", ts.URL)
		code = strings.ReplaceAll(code, `"testdata/`, `"`+root+"/testdata/")
		out := testnode.Run(t, node, dir, time.Minute, []string{"RAGD_KEY=" + ts.admin}, strings.NewReader(code), "--input-type=module", "-")
		if !strings.Contains(out, "ragd backup") {
			t.Fatalf("the README's Node example printed no passage or answer about ragd backup:\n%s", out)
		}
	})
}
