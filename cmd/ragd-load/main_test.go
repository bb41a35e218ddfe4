package main

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// The harness runs its whole load against a real ragd, kills it halfway,
// restarts it and finds every acknowledged item and file: run returns an
// error for any lost write, unfinished file or failed integrity check.
func TestLoadWithCrash(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ragd")
	build := exec.Command("go", "build", "-o", bin, "github.com/ragd/ragd/cmd/ragd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building ragd: %v\n%s", err, out)
	}
	err := run([]string{"-ragd", bin, "-data-dir", t.TempDir(), "-duration", "6s", "-crash",
		"-searchers", "2", "-writers", "1", "-uploaders", "1"})
	if err != nil {
		t.Fatal(err)
	}
}
