// Package testnode runs the project's Node.js test packages (the OpenAI
// Node SDK tests, the console's browser tests) from Go tests, with their
// output in the Go test's log.
package testnode

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Run runs node with args in dir, stdin as its input, and env added to
// the environment, logging its output line by line as it comes, and
// returns that output; it fails the test when node exits non-zero or
// outlives timeout.
func Run(t testing.TB, node, dir string, timeout time.Duration, env []string, stdin io.Reader, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = stdin
	cmd.WaitDelay = 5 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var out strings.Builder
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			t.Log(sc.Text())
			out.WriteString(sc.Text() + "\n")
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("node %v did not finish within %v", args, timeout)
	}
	if err != nil {
		t.Fatalf("node %v: %v (its output is above)", args, err)
	}
	return out.String()
}
