package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ragd/ragd/internal/freeport"
)

// node is one ragd of a cluster the harness started.
type node struct {
	name, dir, addr, route string
	peers                  []string
	// verbose logs the node's start at level info, whatever
	// RAGD_LOAD_LOG_LEVEL says: a joining node's steps, should it not
	// become ready, are the only clue to why.
	verbose bool
	*child
}

// newNode returns node name of data directory dir, on an API port and a
// cluster port free right now.
func newNode(name, dir string) (*node, error) {
	addr, err := freeport.Addr()
	if err != nil {
		return nil, err
	}
	route, err := freeport.Addr()
	if err != nil {
		return nil, err
	}
	return &node{name: name, dir: dir, addr: addr, route: route}, nil
}

// start starts the node's ragd with its cluster flags.
func (n *node) start(bin, key string) error {
	flags := []string{"--cluster-listen", n.route, "--cluster-peers", strings.Join(n.peers, ","), "--node-name", n.name}
	if n.verbose {
		flags = append(flags, "--log-level", "info")
	}
	c, err := startChildOn(bin, n.dir, n.addr, key, flags...)
	n.child = c
	return err
}

// runCluster runs the load against a cluster of c.nodes nodes on loopback,
// the clients spread over all of them; with c.crash one node is killed
// with SIGKILL halfway and restarted a quarter later, while the load goes
// on. Then it checks that every node converged on the same state holding
// every acknowledged write, that each file's webhook event fired once,
// and each database's integrity.
func runCluster(c config) error {
	if c.dataDir == "" {
		d, err := os.MkdirTemp("", "ragd-load-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		c.dataDir = d
	}
	key := keyFile(c.dataDir)
	// The ports are picked free and then bound by ragd: another process
	// may take one in between, so a cluster that fails to start is
	// started again on fresh ports.
	var nodes []*node
	var err error
	for attempt := 1; ; attempt++ {
		nodes, err = startCluster(c, key, attempt)
		if err == nil || attempt == 3 {
			break
		}
		fmt.Printf("the cluster did not start (%v); again on other ports\n", err)
	}
	defer func() {
		for _, n := range nodes {
			if n.child != nil {
				n.stop()
			}
		}
	}()
	if err != nil {
		return err
	}
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.url)
	}
	cl := newClient(urls, key)
	colID, err := cl.setup()
	if err != nil {
		return err
	}
	hooks := newHooks()
	defer hooks.close()
	if err := hooks.register(cl); err != nil {
		return err
	}
	fmt.Printf("%d nodes; collection %s seeded with %d items; load: %d searchers, %d writers, %d uploaders, at most %s and %d requests\n",
		len(nodes), colID, seedItems, c.searchers, c.writers, c.uploaders, c.duration, c.maxRequests)
	ctx, cancel := context.WithTimeout(context.Background(), c.duration)
	defer cancel()
	restarted := make(chan error, 1)
	if c.crash {
		victim := nodes[1]
		go func() {
			time.Sleep(c.duration / 2)
			fmt.Printf("SIGKILL %s during the load\n", victim.name)
			victim.kill()
			time.Sleep(c.duration / 4)
			fmt.Printf("restarting %s\n", victim.name)
			restarted <- victim.start(c.ragd, key)
		}()
	} else {
		restarted <- nil
	}
	res := load(ctx, cl, colID, c)
	res.print()
	if err := <-restarted; err != nil {
		return fmt.Errorf("restarting the killed node: %w", err)
	}
	// While a node is down its clients move to the others; while the
	// stream elects a new leader, writes answer 503. Any other 5xx fails.
	for st, n := range res.statuses {
		if st >= 500 && (st != http.StatusServiceUnavailable || !c.crash) {
			return fmt.Errorf("%d requests answered %d", n, st)
		}
	}
	// GETs read each node's store as it is, so the items are checked on
	// every node once it applied the whole log (converge), not before.
	if err := waitFiles(cl, colID, res); err != nil {
		return err
	}
	if err := converge(cl, nodes, colID, res); err != nil {
		return err
	}
	if err := hooks.check(res.files, c.crash); err != nil {
		return err
	}
	// A new node joins from a snapshot and the log's tail.
	joined, err := join(c, cl, colID, nodes, key)
	if err != nil {
		return err
	}
	nodes = append(nodes, joined)
	if err := converge(cl, nodes, colID, res); err != nil {
		return err
	}
	for _, n := range nodes {
		n.stop()
		out, err := exec.Command(c.ragd, "check", "--data-dir", n.dir).CombinedOutput()
		fmt.Printf("ragd check %s: %s", n.name, out)
		if err != nil {
			return fmt.Errorf("integrity check of %s failed: %w", n.name, err)
		}
		n.child = nil
	}
	return nil
}

// health is the part of GET /v1/health the harness reads.
type health struct {
	Cluster struct {
		Node  string `json:"node"`
		First uint64 `json:"first_seq"`
		Last  uint64 `json:"last_seq"`
		Nodes []struct {
			Name    string `json:"name"`
			Applied uint64 `json:"applied_seq"`
		} `json:"nodes"`
	} `json:"cluster"`
}

// applied returns what the node reports it applied, and the log's last
// sequence.
func (h *health) applied() (uint64, uint64) {
	for _, n := range h.Cluster.Nodes {
		if n.Name == h.Cluster.Node {
			return n.Applied, h.Cluster.Last
		}
	}
	return 0, h.Cluster.Last
}

// converge waits until every node applied the whole log, then compares
// the nodes: the same item count, every acknowledged item and file on
// each, the same search results, the same file bytes.
func converge(cl *client, nodes []*node, colID string, res *result) error {
	deadline := time.Now().Add(2 * time.Minute)
	var last uint64
	for _, n := range nodes {
		for {
			var h health
			st, err := cl.callOn(n.url, "GET", "/v1/health", nil, &h)
			applied, l := h.applied()
			if st == 200 && err == nil && applied == l && l >= last {
				last = l
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s did not apply the whole log within 2 minutes (applied %d of %d; %v)", n.name, applied, l, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	queries := []string{"vector search latency", "backup webhook", "hybrid ranking of keyword", "document 42"}
	var want []string
	for i, n := range nodes {
		var col struct {
			Collection struct {
				ItemCount int `json:"item_count"`
			}
		}
		if _, err := cl.callOn(n.url, "GET", "/v1/vector_store/"+colID, nil, &col); err != nil {
			return err
		}
		got := []string{fmt.Sprint("items ", col.Collection.ItemCount)}
		for _, q := range queries {
			var out struct {
				Results []struct{ ID string }
			}
			if _, err := cl.callOn(n.url, "POST", "/v1/vector_store/"+colID+"/search", map[string]any{"input": q, "top_k": 10}, &out); err != nil {
				return err
			}
			var ids []string
			for _, r := range out.Results {
				ids = append(ids, r.ID)
			}
			got = append(got, q+": "+strings.Join(ids, " "))
		}
		missing := 0
		for _, id := range res.acked {
			if st, _ := cl.callOn(n.url, "GET", "/v1/vector_store/"+colID+"/items/"+id, nil, nil); st != 200 {
				missing++
			}
		}
		for _, id := range res.files {
			var f fileReply
			if _, err := cl.callOn(n.url, "GET", "/v1/vector_store/"+colID+"/files/"+id, nil, &f); err != nil || f.File.Status != "completed" {
				return fmt.Errorf("%s: file %s is %q (%v); want completed", n.name, id, f.File.Status, err)
			}
			b, err := cl.content(n.url, colID, id)
			if err != nil {
				return fmt.Errorf("%s: the bytes of file %s: %w", n.name, id, err)
			}
			got = append(got, fmt.Sprintf("file %s %d bytes %d", id, f.File.Chunks, len(b)))
		}
		if missing > 0 || col.Collection.ItemCount < seedItems+len(res.acked) {
			return fmt.Errorf("%s: %d acknowledged writes missing, %d items", n.name, missing, col.Collection.ItemCount)
		}
		if i == 0 {
			want = got
			continue
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("%s differs from %s after convergence:\n%s\n%s", n.name, nodes[0].name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	fmt.Printf("all %d nodes applied the log to seq %d and agree: %s, %d acknowledged items and %d files on each, %d searches alike\n",
		len(nodes), last, want[0], len(res.acked), len(res.files), len(queries))
	return nil
}

// content downloads the bytes of file id from the node at base.
func (c *client) content(base, colID, id string) ([]byte, error) {
	req, _ := http.NewRequest("GET", base+"/v1/vector_store/"+colID+"/files/"+id+"/content", nil)
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return io.ReadAll(resp.Body)
}

// join takes a snapshot on the first node once every node reported the
// whole log applied (so the log is trimmed to the snapshot), writes a
// few more items, and starts a new, empty node, which must restore the
// snapshot and replay the rest to converge.
func join(c config, cl *client, colID string, nodes []*node, key string) (*node, error) {
	first := nodes[0]
	deadline := time.Now().Add(time.Minute)
	for {
		var h health
		_, err := cl.callOn(first.url, "GET", "/v1/health", nil, &h)
		caught := err == nil && len(h.Cluster.Nodes) >= len(nodes)
		for _, n := range h.Cluster.Nodes {
			caught = caught && n.Applied == h.Cluster.Last
		}
		if caught {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the nodes did not all report the whole log applied within a minute: %+v (%v)", h.Cluster, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The log is trimmed at most to the snapshot, and never past an
	// upload not yet acknowledged: one whose node was killed after it
	// published the file comes back 30 s later. Any trim makes the new
	// node restore the snapshot.
	var snap struct{ Seq uint64 }
	var h health
	for {
		if _, err := cl.callOn(first.url, "POST", "/v1/cluster/snapshot", nil, &snap); err != nil {
			return nil, err
		}
		if _, err := cl.callOn(first.url, "GET", "/v1/health", nil, &h); err != nil {
			return nil, err
		}
		if h.Cluster.First > 1 && h.Cluster.First <= snap.Seq+1 {
			break
		}
		if time.Now().After(deadline.Add(time.Minute)) {
			return nil, fmt.Errorf("after a snapshot at %d the log starts at %d; want it trimmed", snap.Seq, h.Cluster.First)
		}
		time.Sleep(2 * time.Second)
	}
	for i := range 5 {
		if _, err := cl.call("POST", "/v1/vector_store/"+colID+"/items", map[string]any{"content": sentence(90_000_000 + i)}, nil); err != nil {
			return nil, err
		}
	}
	name := fmt.Sprintf("n%d", len(nodes)+1)
	n, err := newNode(name, filepath.Join(c.dataDir, name))
	if err != nil {
		return nil, err
	}
	for _, p := range nodes {
		n.peers = append(n.peers, p.route)
	}
	n.verbose = true
	start := time.Now()
	if err := n.start(c.ragd, key); err != nil {
		return nil, err
	}
	fmt.Printf("snapshot at op %d, log trimmed to start at %d; %s joined empty and serves after %v\n", snap.Seq, h.Cluster.First, n.name,
		time.Since(start).Round(time.Millisecond))
	return n, nil
}

// startCluster starts c.nodes nodes on fresh loopback ports, each in its
// own data directory (named after the attempt), all at once: each node
// waits for a quorum before it is ready. On failure it stops those that
// started.
func startCluster(c config, key string, attempt int) ([]*node, error) {
	nodes := make([]*node, c.nodes)
	for i := range nodes {
		name := fmt.Sprintf("n%d", i+1)
		var err error
		if nodes[i], err = newNode(name, filepath.Join(c.dataDir, fmt.Sprintf("a%d-%s", attempt, name))); err != nil {
			return nil, err
		}
	}
	for _, n := range nodes {
		for _, p := range nodes {
			if p != n {
				n.peers = append(n.peers, p.route)
			}
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = n.start(c.ragd, key) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, n := range nodes {
			if n.child != nil {
				n.kill()
				n.child = nil
			}
		}
		return nil, err
	}
	return nodes, nil
}
