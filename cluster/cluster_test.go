package cluster_test

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/cluster"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/internal/freeport"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store"
)

// node is one cluster member of a test, in process: its own store, its
// own embedded NATS server, a service writing through the cluster.
type node struct {
	name  string
	dir   string
	st    *store.Store
	n     *cluster.Node
	ing   *ingest.Ingester
	svc   *service.Service
	peers []string
	addr  string
	// snapshotEvery is Config.SnapshotEvery; 0 takes the default.
	snapshotEvery uint64
	// secret is Config.Secret, natsAddr Config.NATSListen, tls Config.TLS.
	secret, natsAddr string
	tls              cluster.TLSFiles
	// startTimeout is Config.StartTimeout; 0 takes a minute.
	startTimeout time.Duration
}

// testLogger logs to stderr when RAGD_TEST_LOG is set, else nowhere:
// the nodes' background loops may log after their test ended.
func testLogger(t testing.TB, name string) *slog.Logger {
	if os.Getenv("RAGD_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name(), "node", name)
}

// freeAddr returns a loopback address with a port free right now, one
// no connection of another test can take before its node binds it.
func freeAddr(t testing.TB) string {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// startCluster starts size nodes that form one cluster, all at once (each
// Open waits for a quorum).
func startCluster(t testing.TB, size int) []*node {
	return startClusterWith(t, size, "", cluster.TLSFiles{})
}

// startClusterWith is startCluster with a cluster secret and route TLS
// (when set), and each node's client port on a loopback address of its
// own.
func startClusterWith(t testing.TB, size int, secret string, tls cluster.TLSFiles) []*node {
	t.Helper()
	addrs := make([]string, size)
	for i := range addrs {
		addrs[i] = freeAddr(t)
	}
	nodes := make([]*node, size)
	for i := range nodes {
		var peers []string
		for j, a := range addrs {
			if j != i {
				peers = append(peers, a)
			}
		}
		nodes[i] = &node{name: fmt.Sprintf("n%d", i+1), dir: t.TempDir(), addr: addrs[i], peers: peers, secret: secret, natsAddr: freeAddr(t), tls: tls}
	}
	var wg sync.WaitGroup
	errs := make([]error, size)
	for i, nd := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = nd.open(t) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return nodes
}

// open opens the node's store and joins the cluster; close undoes it.
func (nd *node) open(t testing.TB) error {
	log := testLogger(t, nd.name)
	n, err := cluster.Open(context.Background(), cluster.Config{NodeName: nd.name, Listen: nd.addr, Peers: nd.peers,
		Dir: filepath.Join(nd.dir, "nats"), DBPath: filepath.Join(nd.dir, store.FileName), StartTimeout: cmp.Or(nd.startTimeout, time.Minute),
		WriteTimeout: 3 * time.Second, Logger: log, SnapshotEvery: nd.snapshotEvery, Secret: nd.secret, NATSListen: nd.natsAddr, TLS: nd.tls})
	if err != nil {
		return err
	}
	st := n.Store()
	reg := embed.NewRegistry(embed.HashModelName, embed.NewHash(64))
	ing, err := ingest.New(st, reg, ingest.Config{Dir: filepath.Join(nd.dir, "files"), Workers: 1, Writer: n.Writer(),
		Queue: n.Queue(), Blobs: n.Blobs(), Logger: log})
	if err != nil {
		return err
	}
	n.OnFilesDeleted(ing.ForgetLocal)
	if err := ing.Start(context.Background()); err != nil {
		return err
	}
	nd.st, nd.n, nd.ing = st, n, ing
	nd.svc = service.New(service.Config{Store: st, Writer: n.Writer(), Embedders: reg, Ingester: ing, Logger: log, ClusterUsage: n})
	t.Cleanup(nd.close)
	return nil
}

func (nd *node) close() {
	if nd.n == nil {
		return
	}
	nd.ing.Close(context.Background())
	nd.n.Close()
	nd.n = nil
}

// converge waits until every node applied the whole log.
func converge(t testing.TB, nodes []*node) {
	t.Helper()
	var last uint64
	for _, nd := range nodes {
		last = max(last, nd.n.Applied())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, nd := range nodes {
		if err := nd.n.WaitApplied(ctx, last); err != nil {
			t.Fatalf("%s applied %d of %d ops within a minute", nd.name, nd.n.Applied(), last)
		}
	}
}

// snapshot is what a node's store holds, in a form to compare.
func snapshot(t *testing.T, nd *node, colID string, queries []string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	items, _, err := nd.st.Items(ctx, ragd.DefaultWorkspace, colID, ragd.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		fmt.Fprintf(&b, "item %s %d %q %q %v\n", it.ID, it.Created, it.Content, it.Description, it.Metadata)
	}
	col, err := nd.st.Collection(ctx, ragd.DefaultWorkspace, colID)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "collection %d items %d chunks %d bytes\n", col.ItemCount, col.ChunkCount, col.Bytes)
	for _, q := range queries {
		for _, mode := range []string{ragd.ModeHybrid, ragd.ModeKeyword, ragd.ModeVector} {
			res, _, err := nd.svc.Search(ctx, ragd.DefaultWorkspace, colID, service.SearchRequest{Input: q,
				Query: ragd.SearchQuery{Mode: mode, TopK: 10}})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				fmt.Fprintf(&b, "%s %q: %s %.6f\n", mode, q, r.ID, r.Score)
			}
		}
	}
	keys, _, err := nd.st.Keys(ctx, ragd.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		fmt.Fprintf(&b, "key %s %s %d\n", k.ID, k.Name, k.Created)
	}
	return b.String()
}

// TestReplicatedWrites writes through every node of a three-node cluster
// at once and checks that each write is readable at once on the node that
// made it, and that after convergence all three stores hold the same
// items and keys and answer every search with the same results.
func TestReplicatedWrites(t *testing.T) {
	nodes := startCluster(t, 3)
	ctx := context.Background()
	col, err := nodes[0].svc.CreateCollection(ctx, ragd.DefaultWorkspace, service.NewCollection{Name: "docs"})
	if err != nil {
		t.Fatal(err)
	}
	// n2 logs every op larger than 1 KiB (its batches of items with their
	// vectors) by reference, as an op over the message size limit is.
	cluster.SetMaxInline(nodes[1].n, 1<<10)
	words := strings.Fields("raft quorum stream replica leader follower snapshot log sequence apply vector keyword node lag ack")
	var wg sync.WaitGroup
	ids := make([][]string, len(nodes))
	for i, nd := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// What the server does before every write: apply what the
			// log holds (the collection, created on n1).
			if err := nd.n.Sync(ctx); err != nil {
				t.Error(err)
				return
			}
			for j := range 10 {
				var in []service.ItemInput
				for k := range 3 {
					c := fmt.Sprintf("%s %s %s written on %s", words[(i+j+k)%len(words)], words[(2*j+k)%len(words)], words[(j*k+i)%len(words)], nd.name)
					in = append(in, service.ItemInput{Content: &c, Metadata: map[string]any{"node": nd.name, "j": float64(j)}})
				}
				items, _, err := nd.svc.AddItems(ctx, ragd.DefaultWorkspace, col.ID, in, true)
				if err != nil {
					t.Error(err)
					return
				}
				for _, it := range items {
					// Read your writes: the node that answered has it.
					if _, err := nd.st.Item(ctx, ragd.DefaultWorkspace, col.ID, it.ID); err != nil {
						t.Errorf("%s answered a write of item %s it cannot read: %v", nd.name, it.ID, err)
					}
					ids[i] = append(ids[i], it.ID)
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	desc := "updated on n2"
	if _, _, err := nodes[1].svc.UpdateItem(ctx, ragd.DefaultWorkspace, col.ID, ids[0][0], service.ItemInput{Description: &desc}); err != nil {
		t.Fatal(err)
	}
	if err := nodes[2].svc.DeleteItem(ctx, ragd.DefaultWorkspace, col.ID, ids[1][0]); err != nil {
		t.Fatal(err)
	}
	revoked, live := &ragd.Key{Name: "revoked", Workspace: ragd.DefaultWorkspace}, &ragd.Key{Name: "live", Workspace: ragd.DefaultWorkspace}
	for i, k := range []*ragd.Key{revoked, live} {
		if err := nodes[2-i].svc.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		if k.Secret == "" {
			t.Error("a key created through the cluster came back without its secret")
		}
	}
	if err := nodes[0].svc.RevokeKey(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	// A write that fails does so on every node, and is still applied in
	// order after it.
	if err := nodes[1].svc.DeleteItem(ctx, ragd.DefaultWorkspace, col.ID, "item_missing"); ragd.ErrorKind(err) != ragd.ENOTFOUND {
		t.Errorf("deleting a missing item through the cluster: %v; want not found", err)
	}
	converge(t, nodes)
	queries := []string{"raft quorum", "snapshot of the log", "written on n3", "vector keyword lag"}
	want := snapshot(t, nodes[0], col.ID, queries)
	if n := strings.Count(want, "item "); n != 89 {
		t.Errorf("n1 holds %d items; want 89 (90 written, 1 deleted)", n)
	}
	if !strings.Contains(want, "updated on n2") || !strings.Contains(want, "key ") {
		t.Errorf("n1 lacks the update or the key:\n%s", want)
	}
	for _, nd := range nodes[1:] {
		if got := snapshot(t, nd, col.ID, queries); got != want {
			t.Errorf("%s differs from n1 after convergence:\n%s", nd.name, diff(want, got))
		}
	}
	for _, nd := range nodes {
		if k, err := nd.st.KeyBySecret(ctx, live.Secret); err != nil || k.ID != live.ID {
			t.Errorf("%s: the live key's secret finds %v, %v", nd.name, k, err)
		}
		if k, err := nd.st.KeyBySecret(ctx, revoked.Secret); err == nil {
			t.Errorf("%s: the revoked key's secret still finds %v", nd.name, k)
		}
	}
	st, err := nodes[1].n.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Nodes) != 3 || st.Last == 0 {
		t.Errorf("status: %+v; want 3 nodes and a last sequence", st)
	}

	// Usage stays each node's own; asked on any node, it is added up.
	month := ragd.Month(time.Now())
	key := ragd.UsageKey{Workspace: ragd.DefaultWorkspace, Month: month, Endpoint: "POST /v1/vector_store/:id/search"}
	for i, nd := range nodes {
		if err := nd.st.AddUsage(ctx, map[ragd.UsageKey]ragd.UsageCounts{key: {Requests: int64(i + 1), EmbeddingTokens: 10}}); err != nil {
			t.Fatal(err)
		}
	}
	testwait.Until(t, time.Minute, func() bool { return nodes[2].n.LiveNodes() == 3 }, "n3 to count 3 live nodes")
	usage, err := nodes[2].svc.Usage(ctx, ragd.DefaultWorkspace, month)
	if err != nil {
		t.Fatal(err)
	}
	if got := usage[key]; got.Requests != 6 || got.EmbeddingTokens != 30 {
		t.Errorf("usage asked on n3: %+v; want the 3 nodes' added up (6 requests, 30 tokens)", got)
	}
	checkRequestLogs(t, nodes)
}

// checkRequestLogs logs requests on every node, some in the same
// millisecond on several nodes, and pages through them on one node, two
// at a time: every log of every node comes once, newest first, ties in
// time ordered by node and then by the node's log ID.
func checkRequestLogs(t *testing.T, nodes []*node) {
	t.Helper()
	ctx := context.Background()
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	var want []string
	for i, nd := range nodes {
		var logs []ragd.RequestLog
		for j := range 3 {
			// Node i logs at base+i ms, base+1 ms and base+(10+i)
			// ms: n1 and n2 share base+1 ms.
			at := []time.Duration{time.Duration(i), 1, time.Duration(10 + i)}[j] * time.Millisecond
			logs = append(logs, ragd.RequestLog{Workspace: ragd.DefaultWorkspace, RequestID: fmt.Sprintf("%s-%d", nd.name, j),
				Method: "GET", Endpoint: "GET /v1/vector_store", Path: "/v1/vector_store", Status: 200, Time: base.Add(at)})
		}
		if err := nd.svc.InsertRequestLogs(ctx, logs); err != nil {
			t.Fatal(err)
		}
		for _, l := range logs {
			want = append(want, fmt.Sprintf("%d %s %s", l.Time.UnixMilli(), nd.name, l.RequestID))
		}
	}
	testwait.Until(t, time.Minute, func() bool { return nodes[0].n.LiveNodes() == len(nodes) }, "n1 to count every node live")
	// Newest first; in one millisecond by node, then by ID (insert order).
	slices.SortFunc(want, func(a, b string) int { return strings.Compare(b, a) })
	var got []string
	q := ragd.RequestLogQuery{Workspace: ragd.DefaultWorkspace, From: base.Add(-time.Second), To: base.Add(time.Second),
		Page: ragd.Page{Limit: 2}}
	for pages := 0; ; pages++ {
		logs, more, err := nodes[0].svc.RequestLogs(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range logs {
			got = append(got, fmt.Sprintf("%d %s %s", l.Time.UnixMilli(), l.Node, l.RequestID))
		}
		if !more || pages > len(want) {
			break
		}
		q.Page.After = logs[len(logs)-1].Cursor()
	}
	if !slices.Equal(got, want) {
		t.Errorf("request logs paged 2 at a time on n1:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	q.Page.After = "42"
	if _, _, err := nodes[0].svc.RequestLogs(ctx, q); ragd.ErrorKind(err) != ragd.EINVALID {
		t.Errorf("a single node's cursor on a cluster: %v; want invalid", err)
	}
}

// diff returns the lines of a and b that differ, for a failure message.
func diff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n  want %s\n  got  %s", i+1, x, y))
		}
		if len(out) == 10 {
			break
		}
	}
	return strings.Join(out, "\n")
}

// TestSpeculativeApply checks the item writes a node applies while the
// log is still acknowledging them: one client's writes on n1 are applied
// ahead and kept, read back at once, and every node ends with the same
// items; an op the log placed after another one, or refused, leaves
// nothing on the node, which goes on applying the log.
func TestSpeculativeApply(t *testing.T) {
	nodes := startCluster(t, 3)
	ctx := context.Background()
	ws := ragd.DefaultWorkspace
	col, err := nodes[0].svc.CreateCollection(ctx, ws, service.NewCollection{Name: "docs"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 5 {
		text := fmt.Sprintf("speculative write %d of one client", i)
		items, _, err := nodes[0].svc.AddItems(ctx, ws, col.ID, []service.ItemInput{{Content: &text}}, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nodes[0].st.Item(ctx, ws, col.ID, items[0].ID); err != nil {
			t.Fatalf("n1 answered a write of item %s it cannot read: %v", items[0].ID, err)
		}
		ids = append(ids, items[0].ID)
	}
	desc := "updated ahead of the log"
	if _, _, err := nodes[0].svc.UpdateItem(ctx, ws, col.ID, ids[0], service.ItemInput{Description: &desc}); err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].svc.DeleteItem(ctx, ws, col.ID, ids[1]); err != nil {
		t.Fatal(err)
	}
	kept, dropped := cluster.Speculation(nodes[0].n)
	if kept == 0 {
		t.Errorf("none of one client's 7 item writes on n1 was applied ahead of the log (%d dropped)", dropped)
	}
	converge(t, nodes)
	queries := []string{"speculative write", "one client"}
	want := snapshot(t, nodes[0], col.ID, queries)
	if n := strings.Count(want, "item "); n != 4 || !strings.Contains(want, desc) {
		t.Errorf("n1 holds %d items (want 4) and the update %v:\n%s", n, strings.Contains(want, desc), want)
	}
	for _, nd := range nodes[1:] {
		if got := snapshot(t, nd, col.ID, queries); got != want {
			t.Errorf("%s differs from n1:\n%s", nd.name, diff(want, got))
		}
	}

	// The delete of ids[2], applied ahead, then the log placing it one
	// op later than the next, or refusing it: rolled back.
	applied := nodes[0].n.Applied()
	for _, c := range []struct {
		seq uint64
		err error
	}{{applied + 2, nil}, {0, errors.New("no quorum")}} {
		if err := cluster.ApplyAhead(nodes[0].n, "DeleteItem", []any{ws, col.ID, ids[2], int64(1)}, c.seq, c.err); err != nil {
			t.Fatal(err)
		}
		if _, err := nodes[0].st.Item(ctx, ws, col.ID, ids[2]); err != nil {
			t.Errorf("after a delete applied ahead and then logged at %d (err %v): %v; want the item kept", c.seq, c.err, err)
		}
		if got := nodes[0].n.Applied(); got != applied {
			t.Errorf("after a speculation the log did not place: applied %d; want %d", got, applied)
		}
	}
	keptBefore, d := cluster.Speculation(nodes[0].n)
	if d != dropped+2 {
		t.Errorf("dropped speculations: %d; want %d", d, dropped+2)
	}
	// After an op overtaken, the node's next writes are applied in turn.
	last := "written after the rolled back ones"
	if _, _, err := nodes[0].svc.AddItems(ctx, ws, col.ID, []service.ItemInput{{Content: &last}}, false); err != nil {
		t.Fatal(err)
	}
	if k, _ := cluster.Speculation(nodes[0].n); k != keptBefore {
		t.Errorf("a write right after a dropped speculation was applied ahead (%d kept, %d before)", k, keptBefore)
	}
	converge(t, nodes)
	want = snapshot(t, nodes[0], col.ID, queries)
	if n := strings.Count(want, "item "); n != 5 {
		t.Errorf("n1 holds %d items after the last write; want 5:\n%s", n, want)
	}
	for _, nd := range nodes[1:] {
		if got := snapshot(t, nd, col.ID, queries); got != want {
			t.Errorf("%s differs from n1 after the rolled back speculations:\n%s", nd.name, diff(want, got))
		}
	}
}

// TestQuorumLossAndCatchUp stops two of three nodes: the third keeps
// serving reads but refuses writes with 503 and applies nothing it could
// not replicate. The two come back, and a node that was down while
// others wrote catches up from the log.
func TestQuorumLossAndCatchUp(t *testing.T) {
	nodes := startCluster(t, 3)
	ctx := context.Background()
	col, err := nodes[0].svc.CreateCollection(ctx, ragd.DefaultWorkspace, service.NewCollection{Name: "docs"})
	if err != nil {
		t.Fatal(err)
	}
	add := func(nd *node, text string) error {
		_, _, err := nd.svc.AddItems(ctx, ragd.DefaultWorkspace, col.ID, []service.ItemInput{{Content: &text}}, false)
		return err
	}
	if err := add(nodes[0], "before the loss"); err != nil {
		t.Fatal(err)
	}
	converge(t, nodes)
	nodes[1].close()
	// One node down of three: writes go on.
	if err := add(nodes[0], "while n2 is down"); err != nil {
		t.Fatalf("a write with one node of three down: %v", err)
	}
	nodes[2].close()
	// Until the stream's leader notices it lost its quorum, a write times
	// out and may still be applied if the leader gets its quorum back;
	// then writes are refused outright.
	var refused string
	for i := 0; refused == "" && i < 20; i++ {
		text := fmt.Sprintf("without a quorum %d", i)
		err := add(nodes[0], text)
		var re *ragd.Error
		if !errors.As(err, &re) || re.Kind != ragd.EUNAVAILABLE || re.Code != "cluster_unavailable" {
			t.Fatalf("a write without a quorum: %v; want a cluster_unavailable error (503)", err)
		}
		if strings.Contains(re.Message, "applied nowhere") {
			refused = text
		}
	}
	if refused == "" {
		t.Fatal("20 writes without a quorum were never refused outright")
	}
	items, _, err := nodes[0].svc.Items(ctx, ragd.DefaultWorkspace, col.ID, ragd.Page{Limit: 100})
	if err != nil || len(items) != 2 {
		t.Fatalf("reads without a quorum: %d items, %v; want the 2 written", len(items), err)
	}
	// Both come back; n2 missed a write and catches up from the log.
	var wg sync.WaitGroup
	for _, nd := range nodes[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := nd.open(t); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if err := add(nodes[1], "after the return"); err != nil {
		t.Fatal(err)
	}
	converge(t, nodes)
	want := snapshot(t, nodes[0], col.ID, []string{"loss", "return"})
	for _, text := range []string{"before the loss", "while n2 is down", "after the return"} {
		if !strings.Contains(want, text) {
			t.Errorf("n1 lacks %q", text)
		}
	}
	if strings.Contains(want, refused) {
		t.Errorf("the write refused for want of a quorum (%q) was applied", refused)
	}
	for _, nd := range nodes[1:] {
		if got := snapshot(t, nd, col.ID, []string{"loss", "return"}); got != want {
			t.Errorf("%s differs from n1 after catching up:\n%s", nd.name, diff(want, got))
		}
	}
}

// TestFilesAcrossNodes uploads a file on one node: it is ingested once,
// by one node, and its bytes and chunks can be read on every node.
func TestFilesAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 3)
	ctx := context.Background()
	col, err := nodes[0].svc.CreateCollection(ctx, ragd.DefaultWorkspace, service.NewCollection{Name: "files"})
	if err != nil {
		t.Fatal(err)
	}
	text := "# Replication\n\nEvery node applies the same log of operations in the same order.\n\n" +
		"# Snapshots\n\nA new node restores the latest snapshot and replays the tail of the log.\n"
	// Uploads are stored in parts of 64 bytes, which every node
	// reassembles.
	for _, nd := range nodes {
		cluster.SetPartSize(nd.n, 64)
	}
	up, err := nodes[0].svc.ReceiveFile(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := nodes[0].svc.AddFile(ctx, ragd.DefaultWorkspace, col.ID, up, service.NewFile{Filename: "notes.md"}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != ragd.FileCompleted {
		t.Fatalf("file %s is %s after waiting for its ingest: %+v", f.ID, f.Status, f.Error)
	}
	converge(t, nodes)
	// The same bytes again: the collection's file is returned, and the
	// second upload's shared copy removed.
	oneCopy(t, nodes[0], "one upload")
	up, err = nodes[1].svc.ReceiveFile(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if again, created, err := nodes[1].svc.AddFile(ctx, ragd.DefaultWorkspace, col.ID, up, service.NewFile{Filename: "notes.md"}, nil, false); err != nil || created || again.ID != f.ID {
		t.Fatalf("uploading the same bytes again: %v created %v, %v; want file %s", again, created, err, f.ID)
	}
	oneCopy(t, nodes[0], "a duplicate upload")
	// Bytes no file holds (an upload whose CreateFile never reached the
	// log) are removed once older than the grace; the file's are kept.
	orphan := filepath.Join(t.TempDir(), "orphan")
	if err := os.WriteFile(orphan, []byte("an upload that never became a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	cluster.SetPartSize(nodes[0].n, 16) // in 3 parts, all removed
	if err := nodes[0].n.Blobs().Put(ctx, "file_orphan", orphan); err != nil {
		t.Fatal(err)
	}
	if n, err := cluster.SweepOrphans(ctx, nodes[1].n, time.Hour); n != 0 || err != nil {
		t.Fatalf("a sweep with an hour's grace removed %d new uploads (%v)", n, err)
	}
	if n, err := cluster.SweepOrphans(ctx, nodes[1].n, 0); n != 1 || err != nil {
		t.Fatalf("the sweep removed %d uploads (%v); want the orphan", n, err)
	}
	oneCopy(t, nodes[0], "the sweep")
	for _, nd := range nodes {
		got, fh, err := nd.svc.OpenFile(ctx, ragd.DefaultWorkspace, col.ID, f.ID)
		if err != nil {
			t.Fatalf("%s: open %s: %v", nd.name, f.ID, err)
		}
		b, err := io.ReadAll(fh)
		fh.Close()
		if err != nil || string(b) != text || got.Status != ragd.FileCompleted || got.Chunks != f.Chunks {
			t.Errorf("%s serves file %s as %q (%s, %d chunks, %v); want the upload, completed with %d chunks", nd.name, f.ID, b, got.Status, got.Chunks, err, f.Chunks)
		}
		res, _, err := nd.svc.Search(ctx, ragd.DefaultWorkspace, col.ID, service.SearchRequest{Input: "restores the latest snapshot",
			Query: ragd.SearchQuery{Mode: ragd.ModeKeyword, TopK: 3}})
		if err != nil || len(res) == 0 || !strings.Contains(res[0].Content, "latest snapshot") {
			t.Errorf("%s: search of the file: %v, %v", nd.name, res, err)
		}
	}
	// One node ingested it: each node's job row records the same owner,
	// with one attempt.
	var owners []string
	for _, nd := range nodes {
		job, err := nd.st.JobOfFile(ctx, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		if job.Attempts != 1 || job.State != store.JobDone {
			t.Errorf("%s: the job of %s is %s after %d attempts; want done after 1", nd.name, f.ID, job.State, job.Attempts)
		}
		owners = append(owners, job.Owner)
	}
	if owners[0] == "" || len(slices.Compact(slices.Clone(owners))) != 1 {
		t.Errorf("owners of the job per node: %v; want one node, the same on all", owners)
	}
	// Every node served the file, so each holds a copy of its bytes;
	// deleting it on one node removes them everywhere, the shared copy
	// and each node's own.
	for _, nd := range nodes {
		if _, err := os.Stat(nd.ing.Path(f.ID)); err != nil {
			t.Fatalf("%s has no local copy of a file it served: %v", nd.name, err)
		}
	}
	if err := nodes[2].ing.Delete(ctx, ragd.DefaultWorkspace, col.ID, f.ID); err != nil {
		t.Fatal(err)
	}
	converge(t, nodes)
	for _, nd := range nodes {
		// Removed beside the apply loop, just after the delete applied.
		testwait.Until(t, 10*time.Second, func() bool {
			_, err := os.Stat(nd.ing.Path(f.ID))
			return errors.Is(err, fs.ErrNotExist)
		}, "%s to remove its copy of a deleted file", nd.name)
	}
	if _, _, err := nodes[1].svc.OpenFile(ctx, ragd.DefaultWorkspace, col.ID, f.ID); ragd.ErrorKind(err) != ragd.ENOTFOUND {
		t.Errorf("opening a deleted file on another node: %v; want not found", err)
	}
}

// oneCopy waits until nd's cluster keeps one shared copy of uploaded
// bytes, after what: the object store's listing may be read from a
// replica that has not yet stored the latest delete.
func oneCopy(t *testing.T, nd *node, after string) {
	t.Helper()
	testwait.Until(t, 10*time.Second, func() bool { return cluster.FileCopies(t, nd.n) == 1 },
		"one shared copy of the file's bytes after %s", after)
}

// TestNewNodeJoinsFromSnapshot takes a snapshot, which trims the log, and
// writes on; a fourth node that joins empty restores the snapshot and
// replays the rest of the log, and ends with the same state as the
// others, including what only the snapshot held.
func TestNewNodeJoinsFromSnapshot(t *testing.T) {
	nodes := startCluster(t, 3)
	ctx := context.Background()
	col, err := nodes[0].svc.CreateCollection(ctx, ragd.DefaultWorkspace, service.NewCollection{Name: "docs"})
	if err != nil {
		t.Fatal(err)
	}
	add := func(nd *node, text string) {
		t.Helper()
		if _, _, err := nd.svc.AddItems(ctx, ragd.DefaultWorkspace, col.ID, []service.ItemInput{{Content: &text}}, false); err != nil {
			t.Fatal(err)
		}
	}
	// n1 logs its ops by reference: the trim must drop their data.
	cluster.SetMaxInline(nodes[0].n, 64)
	for i := range 20 {
		add(nodes[0], fmt.Sprintf("early item %d about snapshots", i))
	}
	converge(t, nodes)
	// The log is kept for live nodes until they report applying it.
	last := nodes[0].n.Applied()
	testwait.Until(t, time.Minute, func() bool {
		reported := cluster.Reported(nodes[0].n)
		return len(reported) == 3 && !slices.ContainsFunc(slices.Collect(maps.Values(reported)), func(a uint64) bool { return a < last })
	}, "every node reports applying the log up to %d", last)
	// The snapshot's node counted usage of its own, which a node that
	// restores its snapshot must not report as its own.
	month := ragd.Month(time.Now())
	key := ragd.UsageKey{Workspace: ragd.DefaultWorkspace, Month: month, Endpoint: "GET /v1/vector_store"}
	if err := nodes[1].st.AddUsage(ctx, map[ragd.UsageKey]ragd.UsageCounts{key: {Requests: 5}}); err != nil {
		t.Fatal(err)
	}
	if n := cluster.OpData(t, nodes[0].n); n < 20 {
		t.Fatalf("%d ops' data by reference after 20 writes logged by reference", n)
	}
	cluster.SetPartSize(nodes[1].n, 64<<10)
	seq, err := nodes[1].n.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if seq != last {
		t.Errorf("snapshot of a converged node at seq %d; want %d", seq, last)
	}
	// In parts, which the node joining below reassembles.
	if parts := cluster.SnapshotParts(t, nodes[1].n); parts < 4 {
		t.Errorf("the snapshot is stored in %d parts of at most 64 KiB; want several", parts)
	}
	for i := range 5 {
		add(nodes[2], fmt.Sprintf("late item %d after the snapshot", i))
	}
	st, err := nodes[0].n.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.First != seq+1 {
		t.Fatalf("the log starts at %d after a snapshot at %d; want it trimmed to %d", st.First, seq, seq+1)
	}
	if n := cluster.OpData(t, nodes[0].n); n != 0 {
		t.Errorf("%d ops' data by reference left after the trim of their ops; want 0", n)
	}
	var peers []string
	for _, nd := range nodes {
		peers = append(peers, nd.addr)
	}
	n4 := &node{name: "n4", dir: t.TempDir(), addr: freeAddr(t), peers: peers}
	if err := n4.open(t); err != nil {
		t.Fatal(err)
	}
	nodes = append(nodes, n4)
	converge(t, nodes)
	want := snapshot(t, nodes[0], col.ID, []string{"early snapshots", "late item"})
	if !strings.Contains(want, "early item 0 ") || !strings.Contains(want, "late item 4 ") {
		t.Fatalf("n1 lacks early or late items:\n%s", want)
	}
	if got := snapshot(t, n4, col.ID, []string{"early snapshots", "late item"}); got != want {
		t.Errorf("the node that joined differs from n1:\n%s", diff(want, got))
	}
	if own, err := n4.st.Usage(ctx, ragd.DefaultWorkspace, month); err != nil || len(own) != 0 {
		t.Errorf("the node that joined counts usage of its own from the snapshot: %v, %v; want none", own, err)
	}
	// A node joining from a snapshot missing a part retries, then says
	// why it could not start.
	cluster.DeleteSnapshotPart(t, nodes[0].n, 1)
	n5 := &node{name: "n5", dir: t.TempDir(), addr: freeAddr(t), peers: peers, startTimeout: 20 * time.Second}
	if err := n5.open(t); err == nil || !strings.Contains(err.Error(), ".part1 is missing") {
		t.Errorf("a node joining from a snapshot missing a part: %v; want the part named", err)
	}
}

// TestObjectParts stores objects in parts on a one-node cluster (one
// replica: reads never lag): they read back whole, a second put of a name
// replaces the first's parts, deletes and sweeps leave no part behind, an
// object of one part without a layout (written before parts) reads, and
// a missing part is not found, by name.
func TestObjectParts(t *testing.T) {
	nodes := startCluster(t, 1)
	n := nodes[0].n
	ctx := context.Background()
	cluster.SetPartSize(n, 16)
	dir := t.TempDir()
	put := func(name, text string) {
		t.Helper()
		path := filepath.Join(dir, "put")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := n.Blobs().Put(ctx, name, path); err != nil {
			t.Fatal(err)
		}
	}
	get := func(name string) string {
		t.Helper()
		path := filepath.Join(dir, "get")
		if err := n.Blobs().Get(ctx, name, path); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, text := range []string{"", "sixteen bytes!!!", "thirty-two bytes, two parts!!!!!", "fifty bytes in four parts of sixteen bytes or less"} {
		put("file_a", text)
		if got := get("file_a"); got != text {
			t.Errorf("%d bytes in parts read back as %q", len(text), got)
		}
		if objs, want := cluster.FileObjects(t, n), max(1, (len(text)+15)/16); len(objs) != want {
			t.Errorf("%d bytes in parts of 16 are stored as %v; want %d objects", len(text), objs, want)
		}
	}
	// A second put with fewer parts: its parts only.
	put("file_a", "short, 2 parts!!!!")
	if got, objs := get("file_a"), cluster.FileObjects(t, n); got != "short, 2 parts!!!!" || len(objs) != 2 {
		t.Errorf("after a second put: %q in %v; want its text in 2 objects", got, objs)
	}
	// Stray parts (another put's, an object's whose first part is gone)
	// are swept; the object's own stay.
	cluster.PutFileObject(t, n, "file_a.zz.part1", []byte("stale"))
	cluster.PutFileObject(t, n, "file_gone.zz.part1", []byte("orphan"))
	if swept, err := cluster.SweepFileParts(n, func(name string) bool { return name == "file_a" }); swept != 2 || err != nil {
		t.Errorf("the sweep removed %d objects (%v); want the 2 strays", swept, err)
	}
	if got, objs := get("file_a"), cluster.FileObjects(t, n); got != "short, 2 parts!!!!" || len(objs) != 2 {
		t.Errorf("after the sweep: %q in %v; want the object whole in 2 objects", got, objs)
	}
	// One object without a layout reads as it is.
	cluster.PutFileObject(t, n, "file_old", []byte("written before parts, one object"))
	if got := get("file_old"); got != "written before parts, one object" {
		t.Errorf("an object without a layout reads as %q", got)
	}
	if err := n.Blobs().Delete(ctx, []string{"file_a", "file_old"}); err != nil {
		t.Fatal(err)
	}
	if objs := cluster.FileObjects(t, n); len(objs) != 0 {
		t.Errorf("after the deletes: %v; want nothing", objs)
	}
	// A part missing: not found, naming the part.
	put("file_b", "three parts of text, at most sixteen each")
	cluster.DeleteFilePart(t, n, "file_b", 1)
	err := cluster.GetFileParts(n, "file_b", filepath.Join(dir, "missing"))
	if !errors.Is(err, jetstream.ErrObjectNotFound) || !strings.Contains(err.Error(), ".part1 is missing") {
		t.Errorf("reading an object missing its part 1: %v; want not found, naming the part", err)
	}
}

// TestExternalNATS runs two nodes against an existing NATS server (the
// server module started on its own, with a user and password) instead of
// embedded ones: a write on one node is read on the other.
func TestExternalNATS(t *testing.T) {
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		Username: "ragd", Password: "s3cret", NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("the NATS server did not start")
	}
	ctx := context.Background()
	open := func(name string, opts ...nats.Option) (*cluster.Node, error) {
		dir := t.TempDir()
		return cluster.Open(ctx, cluster.Config{NodeName: name, URLs: []string{ns.ClientURL()}, Options: opts, Replicas: 1,
			DBPath: filepath.Join(dir, store.FileName), StartTimeout: 10 * time.Second, Logger: testLogger(t, name)})
	}
	if _, err := open("intruder"); err == nil {
		t.Fatal("a node without the server's credentials joined")
	}
	var svcs []*service.Service
	for _, name := range []string{"a", "b"} {
		n, err := open(name, nats.UserInfo("ragd", "s3cret"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		svcs = append(svcs, service.New(service.Config{Store: n.Store(), Writer: n.Writer(),
			Embedders: embed.NewRegistry(embed.HashModelName, embed.NewHash(64))}))
		if st, err := n.Status(ctx); err != nil || st.Mode != "external" || st.Replicas != 1 {
			t.Errorf("status of node %s: %+v, %v; want external with 1 replica", name, st, err)
		}
	}
	col, err := svcs[0].CreateCollection(ctx, ragd.DefaultWorkspace, service.NewCollection{Name: "external"})
	if err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 30*time.Second, func() bool {
		_, err := svcs[1].Collection(ctx, ragd.DefaultWorkspace, col.ID)
		return err == nil
	}, "node b to apply the collection node a created")
}

// With RAGD_CLUSTER_SECRET, nodes presenting the secret form the cluster
// and replicate; a node with another secret cannot join, a client without
// it cannot read the client port, and without a secret a port beyond
// loopback is refused at start.
func TestClusterSecret(t *testing.T) {
	const secret = "a shared secret: with @, / and %"
	nodes := startClusterWith(t, 3, secret, cluster.TLSFiles{})
	defer func() {
		for _, nd := range nodes {
			nd.close()
		}
	}()
	ctx := context.Background()
	col, err := nodes[0].svc.CreateCollection(ctx, ragd.DefaultWorkspace, service.NewCollection{Name: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 30*time.Second, func() bool {
		_, err := nodes[2].svc.Collection(ctx, ragd.DefaultWorkspace, col.ID)
		return err == nil
	}, "node 3 to apply the collection node 1 created")
	url := "nats://" + nodes[0].natsAddr
	if nc, err := nats.Connect(url); err == nil {
		nc.Close()
		t.Fatal("a client without the secret connected to the client port")
	}
	nc, err := nats.Connect(url, nats.UserInfo(cluster.SecretUser, secret))
	if err != nil {
		t.Fatalf("a client with the secret: %v", err)
	}
	nc.Close()

	// A fourth node joins with the secret, and not with another one.
	for _, s := range []string{secret, "another secret"} {
		nd := &node{name: "n4", dir: t.TempDir(), addr: freeAddr(t), peers: []string{nodes[0].addr, nodes[1].addr},
			secret: s, natsAddr: freeAddr(t), startTimeout: 10 * time.Second}
		err := nd.open(t)
		if err == nil {
			nd.close()
		}
		if (err == nil) != (s == secret) {
			t.Fatalf("a fourth node with secret %q: %v", s, err)
		}
	}
	open := &node{name: "open", dir: t.TempDir(), addr: "0.0.0.0:0", peers: []string{nodes[0].addr}, natsAddr: freeAddr(t)}
	if err := open.open(t); err == nil || !strings.Contains(err.Error(), "RAGD_CLUSTER_SECRET") {
		t.Fatalf("a route port on every interface without a secret: %v, want an error naming RAGD_CLUSTER_SECRET", err)
	}
}

// TestRoutePortTaken: a node whose route port another process holds
// fails to open at once, and its error names the port.
func TestRoutePortTaken(t *testing.T) {
	l, err := net.Listen("tcp", freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	nd := &node{name: "n1", dir: t.TempDir(), addr: l.Addr().String(), peers: []string{freeAddr(t)}, natsAddr: freeAddr(t)}
	err = nd.open(t)
	if err == nil {
		nd.close()
		t.Fatal("a node opened on a route port another listener holds")
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	if !strings.Contains(err.Error(), "did not start") || !strings.Contains(err.Error(), port) {
		t.Fatalf("error %q: want it to say the server did not start and name port %s", err, port)
	}
}

// testCA writes, in dir, a certificate authority and a certificate it
// signed for 127.0.0.1, usable as route server and client.
func testCA(t *testing.T, dir string) cluster.TLSFiles {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, kind string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	caKey, nodeKey := key(), key()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ragd test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "ragd node"}, NotBefore: ca.NotBefore, NotAfter: ca.NotAfter,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &nodeKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(nodeKey)
	if err != nil {
		t.Fatal(err)
	}
	return cluster.TLSFiles{Cert: write("node.pem", "CERTIFICATE", leafDER), Key: write("node.key", "EC PRIVATE KEY", keyDER),
		CA: write("ca.pem", "CERTIFICATE", caDER)}
}

// With route TLS, nodes whose certificates the cluster's authority signed
// form the cluster and replicate over routes that require TLS; a node
// with a certificate of another authority cannot join.
func TestClusterTLS(t *testing.T) {
	files := testCA(t, t.TempDir())
	nodes := startClusterWith(t, 3, "", files)
	defer func() {
		for _, nd := range nodes {
			nd.close()
		}
	}()
	ctx := context.Background()
	col, err := nodes[1].svc.CreateCollection(ctx, ragd.DefaultWorkspace, service.NewCollection{Name: "tls"})
	if err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 30*time.Second, func() bool {
		_, err := nodes[0].svc.Collection(ctx, ragd.DefaultWorkspace, col.ID)
		return err == nil
	}, "node 1 to apply the collection node 2 created")
	// The route port is mutual TLS: a handshake with the node certificate
	// succeeds, one without a client certificate fails.
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(files.CA)
	if err != nil || !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("CA: %v", err)
	}
	cert, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		t.Fatal(err)
	}
	for _, certs := range [][]tls.Certificate{{cert}, nil} {
		dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: &tls.Config{RootCAs: pool, Certificates: certs}}
		conn, err := dialer.DialContext(ctx, "tcp", nodes[0].addr)
		if err == nil {
			// TLS 1.3 reports a refused client certificate at the first read.
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = conn.Read(make([]byte, 1))
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				err = nil
			}
			conn.Close()
		}
		if (err == nil) != (certs != nil) {
			t.Fatalf("TLS to the route port with %d client certificates: %v", len(certs), err)
		}
	}
	stranger := &node{name: "n4", dir: t.TempDir(), addr: freeAddr(t), peers: []string{nodes[0].addr, nodes[1].addr},
		natsAddr: freeAddr(t), startTimeout: 10 * time.Second, tls: testCA(t, t.TempDir())}
	if err := stranger.open(t); err == nil {
		stranger.close()
		t.Fatal("a node with a certificate of another authority joined")
	}
}
