package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ragdBin is the ragd binary the tests drive, built once by TestMain.
var ragdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ragd-load-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ragdBin = filepath.Join(dir, "ragd")
	if out, err := exec.Command("go", "build", "-o", ragdBin, "github.com/ragd/ragd/cmd/ragd").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building ragd: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// The harness runs its whole load against a real ragd, kills it halfway,
// restarts it and finds every acknowledged item and file: run returns an
// error for any lost write, unfinished file or failed integrity check.
func TestLoadWithCrash(t *testing.T) {
	err := run([]string{"-ragd", ragdBin, "-data-dir", t.TempDir(), "-duration", "6s", "-crash",
		"-searchers", "2", "-writers", "1", "-uploaders", "1"})
	if err != nil {
		t.Fatal(err)
	}
}

// The same load against a three-node cluster, its clients spread over the
// nodes: one node is killed with SIGKILL halfway and restarted while the
// load goes on against the other two. run returns an error unless every
// node applied the whole log, holds every acknowledged item and file
// (completed, its bytes served), answers the same searches alike and
// passes the integrity check, each file's webhook event fired once, and a
// fourth node joins from a snapshot.
func TestClusterLoadWithCrash(t *testing.T) {
	err := run([]string{"-ragd", ragdBin, "-nodes", "3", "-data-dir", t.TempDir(), "-duration", "8s", "-crash",
		"-searchers", "2", "-writers", "2", "-uploaders", "1"})
	if err != nil {
		t.Fatal(err)
	}
}
