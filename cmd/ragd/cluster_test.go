package main

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strings"
	"testing"
)

// TestClusterStatus starts ragd as a one-node cluster (its embedded NATS
// server with no peers, the log kept once), writes through it, and reads
// the cluster back with "ragd cluster status".
func TestClusterStatus(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	route := l.Addr().String()
	l.Close()
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
