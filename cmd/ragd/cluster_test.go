package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/ragd/ragd/internal/freeport"
)

// TestClusterStatus starts ragd as a one-node cluster (its embedded NATS
// server with no peers, the log kept once), writes through it, and reads
// the cluster back with "ragd cluster status".
func TestClusterStatus(t *testing.T) {
	route, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	p := startRagd(t, t.TempDir(), "--cluster-listen", route, "--node-name", "solo")
	var col struct{ Collection struct{ ID string } }
	if st := call(t, "POST", p.url+"/v1/vector_store", map[string]any{"name": "replicated"}, &col); st != 201 {
		t.Fatalf("create a collection on a cluster node: %d", st)
	}
	t.Setenv("RAGD_API_KEY", testAdminKey)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"cluster", "status", "--url", p.url}, &out, &errb); err != nil {
		t.Fatalf("ragd cluster status: %v\n%s", err, errb.String())
	}
	t.Log(out.String())
	if !strings.HasPrefix(out.String(), "node solo (embedded NATS, 1 replicas): cluster ok; log 1..") {
		t.Errorf("status header: %q", out.String())
	}
	// The collection's creation is op 1 or later, applied with no lag.
	if !regexp.MustCompile(`(?m)^solo\s+[1-9]\d*\s+0\s`).MatchString(out.String()) {
		t.Errorf("no row of node solo with its applied ops and no lag:\n%s", out.String())
	}
	// A single node has no cluster to show.
	single := startRagd(t, t.TempDir())
	if err := run(context.Background(), []string{"cluster", "status", "--url", single.url}, &out, &errb); err == nil || !strings.Contains(err.Error(), "single node") {
		t.Errorf("cluster status of a single node: %v; want an error saying it is a single node", err)
	}
}

// Contradictory or incomplete cluster flags are refused, each with a
// message naming the flags to fix.
func TestClusterFlagChecks(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cluster-listen", "127.0.0.1:6222", "--nats-url", "nats://127.0.0.1:4222"}, "exclude each other"},
		{[]string{"--cluster-peers", "127.0.0.1:6223"}, "--cluster-peers needs --cluster-listen"},
		{[]string{"--cluster-tls-cert", "node.pem", "--cluster-tls-key", "node.key", "--cluster-tls-ca", "ca.pem"}, "need --cluster-listen"},
		{[]string{"--cluster-listen", "127.0.0.1:6222", "--cluster-tls-cert", "n.pem", "--cluster-tls-key", "n.key", "--cluster-tls-ca", "ca.pem"}, "a one-node cluster has no route port"},
		{[]string{"--cluster-listen", "127.0.0.1:6222", "--cluster-peers", "127.0.0.1:6223", "--cluster-tls-cert", "node.pem"}, "set all three"},
		{[]string{"--cluster-listen", "127.0.0.1:6222", "--cluster-snapshot-every", "0"}, "--cluster-snapshot-every must be positive"},
	} {
		err := NewMain(io.Discard, io.Discard).ParseFlags(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
	if err := NewMain(io.Discard, io.Discard).ParseFlags([]string{"--cluster-listen", "127.0.0.1:6222", "--cluster-peers", "127.0.0.1:6223",
		"--cluster-tls-cert", "n.pem", "--cluster-tls-key", "n.key", "--cluster-tls-ca", "ca.pem"}); err != nil {
		t.Errorf("all three TLS files: %v", err)
	}
}
