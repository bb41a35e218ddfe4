package cluster_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/cluster"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store"
)

const benchDims = 384

// benchInputs returns n items with content and their own unit vectors, as
// a client sends them (vectors as JSON numbers), from seed. The content's
// words follow a Zipf law over 20,000 words, as text does, so that a
// keyword query matches a realistic share of the items.
func benchInputs(n int, seed uint64) []service.ItemInput {
	r := rand.New(rand.NewPCG(seed, 1))
	zipf := rand.NewZipf(r, 1.1, 2, 19_999)
	out := make([]service.ItemInput, n)
	for i := range out {
		var words []string
		for range 40 {
			words = append(words, fmt.Sprintf("w%d", zipf.Uint64()))
		}
		content := strings.Join(words, " ")
		v := make([]float64, benchDims)
		var norm float64
		for j := range v {
			v[j] = r.NormFloat64()
			norm += v[j] * v[j]
		}
		vec := make(service.Vector, benchDims)
		for j := range v {
			vec[j] = v[j] / math.Sqrt(norm)
		}
		out[i] = service.ItemInput{Content: &content, Vector: vec}
	}
	return out
}

// insertAll adds items to collection colID in batches of 500, a client
// on each of clients at once (a service may stand several times), and
// returns how long it took.
func insertAll(b *testing.B, clients []*service.Service, colID string, items []service.ItemInput) time.Duration {
	b.Helper()
	next := atomic.Int64{}
	var wg sync.WaitGroup
	start := time.Now()
	for _, svc := range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(500)) - 500
				if i >= len(items) {
					return
				}
				if _, _, err := svc.AddItems(context.Background(), ragd.DefaultWorkspace, colID, items[i:min(i+500, len(items))], true); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return time.Since(start)
}

// speculation returns how many ops the nodes applied ahead of their
// acknowledgement and kept, and how many they dropped, all together.
func speculation(nodes []*node) (kept, dropped uint64) {
	for _, nd := range nodes {
		k, d := cluster.Speculation(nd.n)
		kept, dropped = kept+k, dropped+d
	}
	return kept, dropped
}

// benchRounds is how many rounds the one node's and the cluster's batch
// inserts alternate in, so that the machine's drift over a run (the one
// node's rate ranged 9.4k-12.4k chunks/s between runs here) weighs on
// both alike.
const benchRounds = 5

// insertRounds adds items through the one node and through the cluster
// in turns, a benchRounds-th at a time, the cluster's nodes converged
// before the next turn, and returns each side's chunks per second.
// It also logs the cores each side kept busy (the process's CPU time over
// the wall time): the cluster's three nodes share this machine's cores.
func insertRounds(b *testing.B, one *service.Service, oneCol string, nodes []*node, col string, items []service.ItemInput, writers int) (float64, float64) {
	var oneTime, clusterTime, converged, oneCPU, clusterCPU time.Duration
	for r := range benchRounds {
		part := items[r*len(items)/benchRounds : (r+1)*len(items)/benchRounds]
		cpu := cpuTime(b)
		oneTime += insertAll(b, slices.Repeat([]*service.Service{one}, writers), oneCol, part)
		oneCPU += cpuTime(b) - cpu
		cpu, start := cpuTime(b), time.Now()
		clusterTime += insertAll(b, slices.Repeat([]*service.Service{nodes[0].svc}, writers), col, part)
		converge(b, nodes)
		converged += time.Since(start)
		clusterCPU += cpuTime(b) - cpu
	}
	b.Logf("%d client(s), cores busy: one node %.2f, cluster %.2f (until every node applied the batches)",
		writers, oneCPU.Seconds()/oneTime.Seconds(), clusterCPU.Seconds()/converged.Seconds())
	return float64(len(items)) / oneTime.Seconds(), float64(len(items)) / clusterTime.Seconds()
}

// cpuTime returns the CPU time the process used so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func pct(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// BenchmarkCluster measures a three-node cluster on loopback (in one
// process: the three nodes share the machine's cores) beside one node in
// the same run: batch inserts, replication lag, search latency, a node's
// catch-up after a restart, and a new node's join by replaying the whole
// log and from a snapshot. RAGD_BENCH_CLUSTER_CHUNKS sets the size
// (default 100,000 chunks of 384 dimensions).
func BenchmarkCluster(b *testing.B) {
	const bulkWriters = 4
	total := 100_000
	if n, err := strconv.Atoi(os.Getenv("RAGD_BENCH_CLUSTER_CHUNKS")); err == nil {
		total = n
	}
	ctx := context.Background()
	items := benchInputs(total, 1)
	newCol := func(svc *service.Service, name string) string {
		col, err := svc.CreateCollection(ctx, ragd.DefaultWorkspace, service.NewCollection{Name: name, EmbeddingModel: "none", Dimensions: benchDims})
		if err != nil {
			b.Fatal(err)
		}
		return col.ID
	}

	// One node, the peer.
	st, err := store.Open(filepath.Join(b.TempDir(), store.FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	single := service.New(service.Config{Store: st, Embedders: embed.NewRegistry(embed.HashModelName, embed.NewHash(64))})
	singleCol := newCol(single, "bench")
	nodes := startCluster(b, 3)
	col := newCol(nodes[0].svc, "bench")
	singleRate, clusterRate := insertRounds(b, single, singleCol, nodes, col, items, 1)
	kept, dropped := speculation(nodes)
	b.Logf("batch insert (500 items with vectors), one client: one node %.0f chunks/s, cluster %.0f chunks/s (%.0f%% of one node); ops applied ahead of their acknowledgement: %d kept, %d dropped",
		singleRate, clusterRate, 100*clusterRate/singleRate, kept, dropped)
	// A bulk load's clients at once: the cluster logs one batch while its
	// nodes apply the one before. A fifth of the items, into collections
	// of their own, the cluster's then deleted.
	bulk := items[:len(items)/5]
	bulkCol := newCol(nodes[0].svc, "bulk")
	singleBulk, clusterBulk := insertRounds(b, single, newCol(single, "bulk"), nodes, bulkCol, bulk, bulkWriters)
	kept2, dropped2 := speculation(nodes)
	b.Logf("batch insert (500 items with vectors), %d clients: one node %.0f chunks/s, cluster %.0f chunks/s (%.0f%% of one node); ops applied ahead of their acknowledgement: %d kept, %d dropped",
		bulkWriters, singleBulk, clusterBulk, 100*clusterBulk/singleBulk, kept2-kept, dropped2-dropped)
	if _, err := nodes[0].svc.DeleteCollection(ctx, ragd.DefaultWorkspace, bulkCol); err != nil {
		b.Fatal(err)
	}
	// The same load spread over the nodes, a client on each, as behind a
	// load balancer: each node's ops race the others' into the log, so
	// its speculations may be overtaken.
	spreadCol := newCol(nodes[0].svc, "spread")
	var clients []*service.Service
	for _, nd := range nodes {
		if err := nd.n.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		clients = append(clients, nd.svc)
	}
	spread := float64(len(bulk)) / insertAll(b, clients, spreadCol, bulk).Seconds()
	converge(b, nodes)
	kept3, dropped3 := speculation(nodes)
	b.Logf("batch insert (500 items with vectors), a client on each node: cluster %.0f chunks/s (%.0f%% of one node with %d clients); ops applied ahead: %d kept, %d dropped",
		spread, 100*spread/singleBulk, bulkWriters, kept3-kept2, dropped3-dropped2)
	if _, err := nodes[0].svc.DeleteCollection(ctx, ragd.DefaultWorkspace, spreadCol); err != nil {
		b.Fatal(err)
	}

	// Replication lag: single-item writes on n1, each timed until n2 and
	// n3 applied it, from n1's answer.
	var write, lag []time.Duration
	for i, in := range benchInputs(300, 2) {
		start := time.Now()
		if _, _, err := nodes[i%3].svc.AddItems(ctx, ragd.DefaultWorkspace, col, []service.ItemInput{in}, false); err != nil {
			b.Fatal(err)
		}
		acked := time.Now()
		seq := nodes[i%3].n.Applied()
		write = append(write, acked.Sub(start))
		for _, other := range nodes {
			if other == nodes[i%3] {
				continue
			}
			if err := other.n.WaitApplied(ctx, seq); err != nil {
				b.Fatal(err)
			}
			lag = append(lag, max(0, time.Since(acked)))
		}
	}
	b.Logf("item write through the cluster: p50 %s, p99 %s; replication lag after the answer: p50 %s, p99 %s (%d writes)",
		ms(pct(write, .5)), ms(pct(write, .99)), ms(pct(lag, .5)), ms(pct(lag, .99)), len(write))

	// Search: hybrid with the query's own vector, on one node and on a
	// cluster node (which first syncs with the log, as every POST does).
	queries := benchInputs(200, 3)
	search := func(svc *service.Service, colID string, sync func() error) []time.Duration {
		var d []time.Duration
		for _, q := range queries {
			start := time.Now()
			if sync != nil {
				if err := sync(); err != nil {
					b.Fatal(err)
				}
			}
			input := strings.Join(strings.Fields(*q.Content)[:4], " ")
			if _, _, err := svc.Search(ctx, ragd.DefaultWorkspace, colID, service.SearchRequest{Input: input, Vector: q.Vector,
				Query: ragd.SearchQuery{Mode: ragd.ModeHybrid, TopK: 10}}); err != nil {
				b.Fatal(err)
			}
			d = append(d, time.Since(start))
		}
		return d
	}
	search(single, singleCol, nil) // warm both caches
	search(nodes[1].svc, col, nil)
	one, local := search(single, singleCol, nil), search(nodes[1].svc, col, nil)
	synced := search(nodes[1].svc, col, func() error { return nodes[1].n.Sync(ctx) })
	b.Logf("hybrid search at %d chunks, p50: one node %s, cluster node %s, cluster node with the POST's sync %s",
		total, ms(pct(one, .5)), ms(pct(local, .5)), ms(pct(synced, .5)))

	// Catch-up: n3 down while a tenth more is written, then restarted.
	nodes[2].close()
	tail := benchInputs(total/10, 4)
	insertAll(b, []*service.Service{nodes[0].svc}, col, tail)
	behind := nodes[0].n.Applied()
	from, err := store.ReadApplied(ctx, filepath.Join(nodes[2].dir, store.FileName))
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := nodes[2].open(b); err != nil {
		b.Fatal(err)
	}
	opened := time.Now()
	if err := nodes[2].n.WaitApplied(ctx, behind); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	b.Logf("catch-up after a restart: %d ops (%d chunks) applied %v after the restart began (%v to rejoin the cluster): %.0f chunks/s overall",
		behind-from, len(tail), took.Round(time.Millisecond), opened.Sub(start).Round(time.Millisecond), float64(len(tail))/took.Seconds())

	// Join: a new node replays the whole log; then, after a snapshot
	// trims it, another restores the snapshot and replays the rest.
	var peers []string
	for _, nd := range nodes {
		peers = append(peers, nd.addr)
	}
	join := func(name string) time.Duration {
		nd := &node{name: name, dir: b.TempDir(), addr: freeAddr(b), peers: peers}
		start := time.Now()
		if err := nd.open(b); err != nil {
			b.Fatal(err)
		}
		if err := nd.n.WaitApplied(ctx, nodes[0].n.Applied()); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		nd.close()
		return took
	}
	replay := join("n4")
	converge(b, nodes)
	last := nodes[0].n.Applied()
	// The nodes' reported positions bound the trim.
	testwait.Until(b, time.Minute, func() bool {
		reported := cluster.Reported(nodes[0].n)
		return reported["n1"] >= last && reported["n2"] >= last && reported["n3"] >= last
	}, "every node reports applying the log up to %d", last)
	if _, err := nodes[0].n.Snapshot(ctx); err != nil {
		b.Fatal(err)
	}
	fromSnapshot := join("n5")
	b.Logf("a new node joins at %d chunks: replaying the whole log (%d ops) %v; from a snapshot %v",
		total+len(tail)+300, nodes[0].n.Applied(), replay.Round(time.Millisecond), fromSnapshot.Round(time.Millisecond))
}
