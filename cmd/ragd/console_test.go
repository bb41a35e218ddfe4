package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ragd/ragd/internal/testnode"
)

// consoleTests is the Node package of the console's browser tests; make
// test installs its node_modules (npm ci) before running the Go tests.
const consoleTests = "../../test/console"

// TestConsoleBrowser drives the web console in Debian's Chromium with
// playwright-core (test/console/console.test.mjs) against a real ragd
// process on 127.0.0.1 with a fresh data directory: sign-in (a bad key,
// then the admin key), a collection, a PDF and a Markdown upload followed
// to completed, a file's chunks, search, a streamed RAG answer and its
// citation, a key created and revoked, a phone-width layout. It takes a
// screenshot of each page, into a temporary directory unless
// RAGD_SCREENSHOTS names another (make screenshots: docs/console/, so a
// plain test run leaves the tree as it was). It fails, never skips, when
// Chromium, Node.js or the npm package is missing.
func TestConsoleBrowser(t *testing.T) {
	chromium := os.Getenv("RAGD_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium is not installed at %s: the console's browser tests need Debian's chromium package (make deps installs it: apt-get install chromium)", chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: the console's browser tests need Node.js and npm (make deps installs them)")
	}
	dir, err := filepath.Abs(consoleTests)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("playwright-core is not installed in %s: run make test, whose first steps include npm ci --prefix test/console (%v)", dir, err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	p := startRagd(t, t.TempDir())
	shots := os.Getenv("RAGD_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}

	testnode.Run(t, node, dir, 3*time.Minute, []string{"RAGD_URL=" + p.url, "RAGD_KEY=" + testAdminKey, "RAGD_CHROMIUM=" + chromium,
		"RAGD_TESTDATA=" + filepath.Join(root, "testdata", "extract"), "RAGD_SCREENSHOTS=" + shots}, nil,
		"--test", "--test-reporter=spec", "console.test.mjs")
}
