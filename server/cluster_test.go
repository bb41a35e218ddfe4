package server_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/ragd/ragd/cluster"
	"github.com/ragd/ragd/server"
)

// fakeCluster is a cluster of live nodes whose Sync counts its calls and
// returns err.
type fakeCluster struct {
	live  int
	syncs atomic.Int32
	err   error
}

func (f *fakeCluster) Status(context.Context) (*cluster.Status, error) {
	return &cluster.Status{Node: "n1", Mode: "embedded", Replicas: 3, Last: 7,
		Nodes: []cluster.NodeStatus{{Name: "n1", Applied: 7}, {Name: "n2", Applied: 5, Lag: 2}}}, f.err
}

func (f *fakeCluster) Sync(context.Context) error { f.syncs.Add(1); return nil }

func (f *fakeCluster) LiveNodes() int { return f.live }

func (f *fakeCluster) Snapshot(context.Context) (uint64, error) { return 42, f.err }

func (f *fakeCluster) Ready() error { return f.err }

// TestClusterNode checks what a server does as a cluster node: every
// request but a GET first applies the log (Sync), each node enforces its
// share of a key's rate limits, and /v1/health reports the cluster.
func TestClusterNode(t *testing.T) {
	fc := &fakeCluster{live: 3}
	ts := newTestServerWith(t, server.Config{Cluster: fc})
	admin := ts.key(t, "acme", true)
	ts.do(t, "GET", "/v1/vector_store", admin, nil).must(t, 200)
	if n := fc.syncs.Load(); n != 0 {
		t.Errorf("a GET synced with the log %d times; want 0", n)
	}
	col := ts.collection(t, admin, "docs")
	ts.do(t, "POST", "/v1/vector_store/"+col+"/search", admin, map[string]any{"input": "x"}).must(t, 200)
	if n := fc.syncs.Load(); n != 2 {
		t.Errorf("a create and a search synced with the log %d times; want 2", n)
	}

	// A key of 7 requests a minute on 3 live nodes: 3 here.
	key := ts.limitedKey(t, "acme", 7, 0)
	for i := range 3 {
		r := ts.do(t, "GET", "/v1/vector_store", key, nil)
		r.must(t, 200)
		if got := headerInt(t, r, "X-RateLimit-Limit-Requests"); got != 3 {
			t.Errorf("request %d: this node's limit %d; want 3 (7 over 3 nodes, rounded up)", i, got)
		}
	}
	ts.do(t, "GET", "/v1/vector_store", key, nil).must(t, 429)

	h := ts.do(t, "GET", "/v1/health", admin, nil).must(t, 200)
	c := obj(h["cluster"])
	if str(c["status"]) != "ok" || str(c["node"]) != "n1" || c["last_seq"] != float64(7) || len(list(c["nodes"])) != 2 {
		t.Errorf("health's cluster: %v", c)
	}
	if r := ts.do(t, "POST", "/v1/cluster/snapshot", admin, nil).must(t, 200); r["seq"] != float64(42) {
		t.Errorf("snapshot: %v; want seq 42", r)
	}
	ts.do(t, "POST", "/v1/cluster/snapshot", ts.key(t, "acme", false), nil).must(t, 403)
	fc.err = errors.New("no quorum")
	h = ts.do(t, "GET", "/v1/health", admin, nil).must(t, 200)
	if str(h["status"]) != "degraded" || str(obj(h["cluster"])["status"]) != "down" {
		t.Errorf("health with the log unreachable: %v; want degraded, the cluster down", h)
	}
	// A node that cannot apply the log any more must not get traffic.
	if r := ts.do(t, "GET", "/readyz", "", nil); r.status != 503 {
		t.Errorf("readyz of a node that cannot apply the log: %d; want 503", r.status)
	}
}

// TestClusterSnapshotOnSingleNode: a single node has no cluster to
// snapshot, and says how to back it up instead.
func TestClusterSnapshotOnSingleNode(t *testing.T) {
	ts := newTestServer(t)
	r := ts.do(t, "POST", "/v1/cluster/snapshot", ts.key(t, "acme", true), nil)
	if code, _ := r.errCode(); r.status != 409 || code != "not_a_cluster" {
		t.Errorf("snapshot on a single node: %d %s; want 409 not_a_cluster", r.status, code)
	}
}
