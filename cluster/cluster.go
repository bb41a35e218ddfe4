// Package cluster makes several ragd processes one service: every node
// keeps its own complete store (SQLite, sqlite-vec, FTS5) and applies the
// same ordered log of write operations, the ops of the write seam
// (service.Writer), kept in a NATS JetStream stream. JetStream replicates
// the stream with Raft (R=3 by default), so ragd has no consensus code of
// its own, and reads stay local and as fast as on one node.
//
// A node either embeds a NATS server that forms a NATS cluster with its
// peers (nothing else to install), or connects to an existing NATS
// cluster. A write is answered once the stream acknowledged it (a quorum
// of its replicas stored it) and the node's own store applied it; a write
// the stream cannot acknowledge is refused with 503 and applied nowhere.
// Each node records the stream sequence it applied last in the same SQLite
// transaction as the op's rows (store.WithApplied), so a node restarted
// after kill -9 resumes exactly after what it kept.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/retry"
	"github.com/ragd/ragd/store"
)

// Names in JetStream. The ops stream holds the log; ops too large for one
// message are kept in the op-data object store and logged by name.
const (
	opsStream   = "RAGD_OPS"
	opsSubjects = "ragd.ops.>"
	opDataStore = "RAGD_OPDATA"
	nodesKV     = "RAGD_NODES"
	refHeader   = "Ragd-Op-Ref"
)

// Config holds a node's settings.
type Config struct {
	// NodeName names the node in the cluster; unique per node.
	NodeName string
	// Listen is the host:port the embedded NATS server's cluster (route)
	// port listens on, and Peers the other nodes' route addresses. Empty
	// Listen with no URLs means a one-node embedded cluster.
	Listen string
	Peers  []string
	// NATSListen is the embedded server's client address, for the nats
	// CLI and monitoring (default: 127.0.0.1 on a free port, with a
	// password only this process knows unless Secret is set); ragd itself
	// talks to its embedded server in process.
	NATSListen string
	// Dir is where the embedded server keeps its JetStream data.
	Dir string
	// Secret is the embedded cluster's shared secret: set, the route port
	// accepts only nodes presenting it and the client port only clients
	// presenting it (user SecretUser). Without it both ports must listen
	// on loopback addresses (a cluster on one machine), since anyone
	// reaching them could read and write every op.
	Secret string
	// TLS, when set, makes every route mutual TLS: each node presents
	// TLS.Cert and accepts only peers whose certificate TLS.CA signed.
	TLS TLSFiles
	// URLs are an existing NATS cluster's client URLs; set, ragd embeds
	// no server and Options carry its credentials.
	URLs    []string
	Options []nats.Option
	// Replicas is the stream's replication factor (default 3, or the
	// number of embedded nodes when fewer).
	Replicas int
	// DBPath is this node's database, opened by Open (after restoring
	// the latest snapshot into it when the log no longer holds what it
	// lacks) with StoreOptions; the node applies the log to it.
	DBPath       string
	StoreOptions []store.Option
	// SnapshotEvery is how many ops a node applies between snapshots of
	// its store (default 10,000), and SnapshotsKept how many snapshots
	// the cluster keeps (default 2); the log is trimmed below the oldest.
	SnapshotEvery uint64
	SnapshotsKept int
	// SnapshotCheck is how often a node checks whether a snapshot is due
	// (default 30 s).
	SnapshotCheck time.Duration
	// OrphanGrace is how old a shared copy of uploaded bytes that no file
	// holds must be before a node deletes it (default 24 hours), and
	// OrphanCheck how often each node looks for such copies (default an
	// hour): see sweepOrphans.
	OrphanGrace, OrphanCheck time.Duration
	// StartTimeout bounds how long Open waits for the cluster to form
	// and the stream to be reachable (default 2 minutes).
	StartTimeout time.Duration
	// WriteTimeout bounds how long a write waits for the stream's
	// acknowledgement (default 10 s); past it the write answers 503.
	WriteTimeout time.Duration
	// Logger receives the node's events (default slog.Default()).
	Logger *slog.Logger
}

// Node is one member of a cluster: its embedded NATS server (if any), its
// connection, and the loop applying the log to its store.
type Node struct {
	cfg  Config
	srv  *server.Server
	nc   *nats.Conn
	js   jetstream.JetStream
	st   *store.Store
	log  *slog.Logger
	boot int64 // start time, part of op IDs: unique across restarts

	counter atomic.Uint64
	applied atomic.Uint64
	// applyMu is held while an op is applied to the store: by the apply
	// loop for each op until it applied (retrying a failing op for as
	// long as it fails), and by speculate from before its op is logged
	// until the store kept or dropped it.
	applyMu sync.Mutex
	// kept counts the ops this node applied ahead of their
	// acknowledgement and kept, dropped those it applied ahead and rolled
	// back (or that failed before their commit), leaving them to the apply
	// loop (applyAhead).
	kept, dropped atomic.Uint64
	// cooldown counts the ops that will not speculate after one was
	// overtaken (dropCooldown).
	cooldown atomic.Int32
	// publishing counts this node's ops being published: an op speculates
	// only when it is the only one, since several at once would reach the
	// log in any order and overtake each other.
	publishing atomic.Int32
	// logged is the highest log sequence this node knows of, from its
	// publications' acknowledgements and its consumer's deliveries: with
	// ops logged but not applied, an op cannot be placed right after the
	// last applied one, and does not speculate.
	logged atomic.Uint64
	// live is how many nodes reported recently (LiveNodes), known every
	// node's last report (under mu).
	live     atomic.Int32
	known    map[string]report
	watching bool // watchReports started
	started  bool // Open completed: the node reports its position
	// broken holds the error of a node that cannot go on applying the
	// log (Ready).
	broken atomic.Pointer[error]
	// unreachableUntil (Unix nanoseconds) is when Sync asks the log
	// again after it could not be reached.
	unreachableUntil atomic.Int64
	// maxInline is the largest op carried in a message of its own.
	maxInline int
	// partSize is the most bytes this node puts in one object of the
	// object stores (defaultPartSize).
	partSize atomic.Int64
	// filesDeleted is called with the files each applied op deleted
	// (OnFilesDeleted).
	filesDeleted atomic.Pointer[func(ids []string)]

	mu      sync.Mutex
	waiters map[string]chan *outcome
	changed chan struct{} // closed and replaced after each applied op
	// uploaded is closed and replaced after each applied CreateFile op:
	// the ingest queue's claims wait on it.
	uploaded chan struct{}

	objs   jetstream.ObjectStore // ops too large for a message
	files  jetstream.ObjectStore // uploaded files' bytes
	snaps  jetstream.ObjectStore // snapshots of stores
	leases jetstream.KeyValue    // the snapshot lease
	nodes  jetstream.KeyValue
	queue  *Queue

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// outcome is what applying an op returned, for the node that published it.
type outcome struct {
	results []any
	args    []reflect.Value
	err     error
}

// Open starts the node: its embedded NATS server when it has no URLs,
// then the stream (created by whichever node comes first), then the loop
// applying the log from the position its store recorded. It returns once
// the stream is reachable, or fails after StartTimeout.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.NodeName == "" {
		return nil, errors.New("cluster: a node name is required (--node-name)")
	}
	if cfg.DBPath == "" {
		return nil, errors.New("cluster: Config.DBPath is required")
	}
	if cfg.SnapshotEvery == 0 {
		cfg.SnapshotEvery = 10_000
	}
	if cfg.SnapshotsKept <= 0 {
		cfg.SnapshotsKept = 2
	}
	if cfg.SnapshotCheck <= 0 {
		cfg.SnapshotCheck = 30 * time.Second
	}
	if cfg.OrphanGrace <= 0 {
		cfg.OrphanGrace = 24 * time.Hour
	}
	if cfg.OrphanCheck <= 0 {
		cfg.OrphanCheck = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 2 * time.Minute
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 3
		if len(cfg.URLs) == 0 {
			cfg.Replicas = min(3, 1+len(cfg.Peers))
		}
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.NodeName), boot: time.Now().UnixNano(),
		waiters: map[string]chan *outcome{}, changed: make(chan struct{}), uploaded: make(chan struct{}), known: map[string]report{}}
	n.partSize.Store(defaultPartSize)
	n.ctx, n.cancel = context.WithCancel(context.Background())
	ok := false
	defer func() {
		if !ok {
			n.Close()
		}
	}()
	var err error
	if len(cfg.URLs) == 0 {
		var password string
		if n.srv, password, err = startServer(cfg, n.log); err != nil {
			return nil, err
		}
		own := []nats.Option{nats.InProcessServer(n.srv), nats.Name("ragd " + cfg.NodeName), nats.MaxReconnects(-1)}
		if password != "" {
			own = append(own, nats.UserInfo(SecretUser, password))
		}
		n.nc, err = nats.Connect("", append(own, cfg.Options...)...)
	} else {
		n.nc, err = nats.Connect(strings.Join(cfg.URLs, ","), append([]nats.Option{nats.Name("ragd " + cfg.NodeName), nats.MaxReconnects(-1)}, cfg.Options...)...)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: connecting to NATS: %w", err)
	}
	if n.js, err = jetstream.New(n.nc); err != nil {
		return nil, err
	}
	// An op's message leaves room for headers within the server's limit.
	n.maxInline = int(n.nc.MaxPayload()) - 4<<10
	startCtx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	if err := n.setUp(startCtx); err != nil {
		return nil, err
	}
	if n.st, err = store.Open(cfg.DBPath, cfg.StoreOptions...); err != nil {
		return nil, err
	}
	applied, err := n.st.Applied(ctx)
	if err != nil {
		return nil, err
	}
	n.applied.Store(applied)
	if err := n.serveQueries(); err != nil {
		return nil, err
	}
	n.started = true
	n.wg.Add(4)
	go n.applyLoop()
	go n.reportLoop()
	go n.every(n.cfg.SnapshotCheck, "taking a snapshot", n.maybeSnapshot)
	go n.every(n.cfg.OrphanCheck, "removing uploads no file holds", n.sweepNow)
	ok = true
	return n, nil
}

// setUp creates (or finds) the stream, the object stores and key-value
// buckets, and restores the latest snapshot if the node's store needs it,
// retrying while the cluster forms (a JetStream cluster answers only once
// its nodes elected a meta leader), is too busy to answer, or a snapshot
// cannot be read yet (a replica that lags may answer for it). A store no
// snapshot can restore ends it at once. Past its time, its error says
// why the last restore failed, if one did.
func (n *Node) setUp(ctx context.Context) error {
	b := retry.Backoff{Base: 250 * time.Millisecond, Max: 2 * time.Second}
	var restoreErr error
	for attempt := 1; ; attempt++ {
		err := n.tryCreate(ctx)
		if err == nil {
			err = n.watchReports(n.ctx)
		}
		if err == nil {
			if _, err = n.restoreIfBehind(ctx); err == nil || errors.Is(err, errNoSnapshot) {
				return err
			}
			if ctx.Err() == nil || restoreErr == nil {
				// An attempt cut short by the deadline says only that;
				// the one before it said why restoring failed.
				restoreErr = err
			}
			n.log.Warn("restoring the latest snapshot failed; retrying", "err", err)
		} else {
			n.log.Info("waiting for the cluster to form", "err", err)
		}
		if retry.Sleep(ctx, b.Delay(attempt)) != nil {
			if restoreErr != nil && restoreErr != err {
				err = fmt.Errorf("%w (and the last restore of the latest snapshot failed: %w)", err, restoreErr)
			}
			return fmt.Errorf("cluster: the stream %s was not reachable within %s (are a majority of the %d nodes up?): %w",
				opsStream, n.cfg.StartTimeout, n.cfg.Replicas, err)
		}
	}
}

func (n *Node) tryCreate(ctx context.Context) error {
	// Short attempts: while the nodes elect their meta leader a request
	// waits unanswered, and the leader is there within seconds.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := n.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: opsStream, Subjects: []string{opsSubjects}, Storage: jetstream.FileStorage, Replicas: n.cfg.Replicas,
		Duplicates: 2 * time.Minute, Description: "ragd's replicated write operations, applied in order by every node",
	}); err != nil {
		return err
	}
	var err error
	if n.objs, err = n.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: opDataStore,
		Description: "ops too large for one message, logged by name", Replicas: n.cfg.Replicas, Storage: jetstream.FileStorage}); err != nil {
		return err
	}
	if n.files, err = n.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: filesStore,
		Description: "uploaded files' bytes, by file ID", Replicas: n.cfg.Replicas, Storage: jetstream.FileStorage}); err != nil {
		return err
	}
	if n.snaps, err = n.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: snapshotsStore,
		Description: "snapshots of a node's store, named by the last op they hold", Replicas: n.cfg.Replicas, Storage: jetstream.FileStorage}); err != nil {
		return err
	}
	if n.leases, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: leasesKV, TTL: snapshotLease,
		Description: "which node is taking the next snapshot", Replicas: n.cfg.Replicas, Storage: jetstream.FileStorage}); err != nil {
		return err
	}
	if n.nodes, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: nodesKV,
		Description: "each node's last applied op, for cluster status", Replicas: n.cfg.Replicas, Storage: jetstream.FileStorage}); err != nil {
		return err
	}
	return n.openQueue(ctx)
}

// Writer returns the node's write seam.
func (n *Node) Writer() *Writer { return &Writer{n: n} }

// OnFilesDeleted has f called, on this node, with the IDs of the files
// each op it applies deletes, whichever node wrote the op: every node
// then removes the copies of their bytes it fetched to serve or ingest
// them (ingest.Ingester.ForgetLocal), which otherwise stayed until its
// next start. f runs beside the apply loop, on a goroutine of its own.
func (n *Node) OnFilesDeleted(f func(ids []string)) { n.filesDeleted.Store(&f) }

// Store returns the node's store: read it freely, write it only through
// Writer.
func (n *Node) Store() *store.Store { return n.st }

// Close stops applying and leaves the cluster: the connection, then the
// embedded server. Writes waiting for their op fail.
func (n *Node) Close() error {
	if n.started {
		// A last report, so that the others know where this node stopped
		// (briefly: the last nodes of a cluster closing have no quorum).
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		b, _ := json.Marshal(report{Applied: n.applied.Load(), Reported: time.Now().Unix()})
		n.nodes.Put(ctx, n.cfg.NodeName, b)
		cancel()
	}
	n.cancel()
	n.wg.Wait()
	if n.nc != nil {
		n.nc.Close()
	}
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
	}
	if n.st != nil {
		return n.st.Close()
	}
	return nil
}

// unavailable is the error of a write the stream did not acknowledge.
// With no stream leader to take it (fewer than a quorum of nodes
// reachable, and JetStream knows it) the write was refused and is applied
// nowhere. A write that timed out instead may sit in the log of a leader
// that has just lost its quorum, and be applied if that leader gets it
// back: the message says so, as etcd's and Consul's do.
func unavailable(err error) error {
	e := &ragd.Error{Kind: ragd.EUNAVAILABLE, Code: "cluster_unavailable", Err: err,
		Message: "the cluster refused this write: fewer than a quorum of its nodes are reachable, so it was applied nowhere; " +
			"retry once the cluster is whole again"}
	if !refused(err) {
		e.Message = "the cluster did not confirm this write in time (a quorum of its nodes may be unreachable): it was not applied here, " +
			"and is applied on every node only if the cluster recovers it; check before retrying"
	}
	return e
}

// syncTimeout bounds how long Sync asks for the log's last sequence, and
// how long after a failed ask Sync does not ask again.
const syncTimeout = 2 * time.Second

// refused reports whether a publication failed because no stream leader
// took it: then it is in no log and never will be.
func refused(err error) bool {
	return errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders)
}

// Sync waits until this node applied every op the log held when it was
// called, so that a request sees the writes made on other nodes before
// it. When the log cannot be reached (no quorum, a leader being elected)
// it returns at once, and the request goes on with the local store as it
// is: a read is served, a write is refused by the seam, which cannot
// replicate it either.
func (n *Node) Sync(ctx context.Context) error {
	if time.Now().UnixNano() < n.unreachableUntil.Load() {
		return nil
	}
	ictx, cancel := context.WithTimeout(ctx, syncTimeout)
	stream, err := n.js.Stream(ictx, opsStream)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n.unreachableUntil.Store(time.Now().Add(syncTimeout).UnixNano())
		n.log.Debug("the log cannot be reached; serving from the local store as it is", "err", err)
		return nil
	}
	return n.WaitApplied(ctx, stream.CachedInfo().State.LastSeq)
}

// applyWait bounds how long a write waits for this node to apply it once
// the log has it: a node stuck behind the log (a disk error, an op of a
// newer ragd) must not hold its callers, nor an upload's claim, forever.
const applyWait = time.Minute

// submit logs one op and waits until this node applied it: applied
// while the log acknowledges it, for the writes that speculate, else by
// the apply loop once the log delivers it.
func (n *Node) submit(ctx context.Context, method string, args []any) (*outcome, error) {
	id := fmt.Sprintf("%s-%x-%d", n.cfg.NodeName, n.boot, n.counter.Add(1))
	data, err := encodeOp(id, method, args)
	if err != nil {
		return nil, err
	}
	ch := make(chan *outcome, 1)
	n.mu.Lock()
	n.waiters[id] = ch
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.waiters, id)
		n.mu.Unlock()
	}()
	pctx, cancel := context.WithTimeout(ctx, n.cfg.WriteTimeout)
	defer cancel()
	subject := writeSubject
	if method == "CreateFile" {
		subject = uploadSubject(args[0].(string)) // also a work item of its workspace's ingest queue
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	if len(data) > n.maxInline {
		// Carried by reference: the object store chunks it, the log
		// keeps its place in the order.
		if _, err := n.objs.PutBytes(pctx, id, data); err != nil {
			return nil, unavailable(err)
		}
		msg.Data = nil
		msg.Header.Set(refHeader, id)
	}
	pub := &publication{done: make(chan struct{})}
	alone := n.publishing.Add(1) == 1
	go func() {
		defer close(pub.done)
		defer n.publishing.Add(-1)
		pub.ack, pub.err = n.js.PublishMsg(pctx, msg, jetstream.WithMsgID(id), jetstream.WithRetryAttempts(5),
			jetstream.WithRetryWait(200*time.Millisecond))
		if pub.err == nil {
			n.sawLog(pub.ack.Sequence)
		}
	}()
	if speculative[method] && alone {
		if n.cooldown.Load() > 0 {
			n.cooldown.Add(-1)
		} else {
			n.speculate(data, pub)
		}
	}
	if _, err := pub.wait(); err != nil {
		if msg.Header.Get(refHeader) != "" && refused(err) {
			// Never logged: its data goes (a write that merely timed
			// out may still be logged, and keeps it).
			n.objs.Delete(context.WithoutCancel(ctx), id)
		}
		return nil, unavailable(err)
	}
	wait := time.NewTimer(applyWait)
	defer wait.Stop()
	select {
	case out := <-ch:
		return out, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-wait.C:
		return nil, &ragd.Error{Kind: ragd.EUNAVAILABLE, Code: "cluster_lagging",
			Message: fmt.Sprintf("the write was logged, and every node applies it, but this node has not applied it within %s: it is behind the log (see GET /v1/health)", applyWait)}
	case <-n.ctx.Done():
		return nil, &ragd.Error{Kind: ragd.EUNAVAILABLE, Code: "shutting_down",
			Message: "the node is shutting down; the write was logged and every other node applies it"}
	}
}

// publication is an op's publication to the log, under way.
type publication struct {
	done chan struct{} // closed once ack and err are set
	ack  *jetstream.PubAck
	err  error
}

// wait returns the publication's acknowledgement, or why there is none,
// once the publication ended.
func (p *publication) wait() (*jetstream.PubAck, error) {
	<-p.done
	return p.ack, p.err
}

// speculative names the seam's writes that the publishing node applies
// while the log is still acknowledging them (speculate): the item writes
// a bulk load repeats, each a single write transaction of the store.
var speculative = map[string]bool{"InsertItems": true, "UpdateItem": true, "DeleteItem": true}

// dropCooldown is how many of its next ops a node applies in turn, not
// ahead, after one applied ahead was overtaken: with clients writing through
// several nodes, ops race each other into the log, and an op overtaken
// costs its apply twice. BenchmarkCluster's load spread over three nodes
// dropped 6 of 40 ops without it.
const dropCooldown = 8

// errOvertaken refuses a speculative commit: the log placed another op
// between the last one the node applied and the speculated one.
var errOvertaken = errors.New("cluster: another op was logged first")

// speculate applies the op data encodes, which this node is publishing
// (pub), to its own store while the log acknowledges it rather than after,
// so that for a client's successive writes the replication and the apply
// overlap instead of adding up. It does so only when the op can be placed
// right after the last op this node applied: the apply loop is idle (a
// loop busy applying, or stuck retrying, an op holds applyMu, and the op
// then waits its turn as any other), and no op is known to be logged but
// not applied, unless it is this very op, acknowledged already.
func (n *Node) speculate(data []byte, pub *publication) {
	if !n.applyMu.TryLock() {
		return
	}
	defer n.applyMu.Unlock()
	base := n.applied.Load()
	select {
	case <-pub.done:
		if pub.err != nil || pub.ack.Sequence != base+1 {
			return
		}
	default:
		if n.logged.Load() > base {
			return
		}
	}
	o, err := decodeOp(data)
	if err != nil {
		return // the apply loop fails on it the same way
	}
	n.applyAhead(o, base, pub)
}

// applyAhead applies o, the op of pub, under applyMu, the node having
// applied the log up to base. The store's commit waits for the log's
// acknowledgement (store.WithCommitGate) and is kept only if the log
// placed o at base+1: on the very state, and so with the very result, the
// apply loop would have applied it to. Otherwise (another op came first,
// the publication failed, the op itself failed) nothing is kept, and the
// apply loop applies o in its turn; it skips an o kept here. Meanwhile
// the node's other writes (its bookkeeping, the apply loop) wait for the
// store's one writer: for a replication round trip, at most WriteTimeout.
func (n *Node) applyAhead(o *op, base uint64, pub *publication) {
	var seq uint64
	overtaken := false
	gate := func() (uint64, error) {
		ack, err := pub.wait()
		if err != nil {
			return 0, err
		}
		if overtaken = ack.Sequence != base+1; overtaken {
			return 0, errOvertaken
		}
		seq = ack.Sequence
		return seq, nil
	}
	var out outcome
	out.results, out.args, out.err = apply(store.WithCommitGate(context.Background(), gate), n.st, o)
	if seq != 0 && out.err != nil {
		// The gate let the commit go and the write failed: whether the
		// commit landed, the store says (it is local: asked until it
		// answers). If it did, the results are complete.
		b := retry.Backoff{Base: 10 * time.Millisecond, Max: time.Second}
		for attempt := 1; ; attempt++ {
			applied, err := n.st.Applied(context.Background())
			if err == nil {
				if applied != seq {
					seq = 0
				} else {
					out.err = nil
				}
				break
			}
			if retry.Sleep(n.ctx, b.Delay(attempt)) != nil {
				return // closing: the store's record stands for the restart
			}
		}
	}
	if seq == 0 {
		n.dropped.Add(1)
		if overtaken {
			n.cooldown.Store(dropCooldown)
		}
		return
	}
	n.kept.Add(1)
	n.finish(seq, o, &out)
}

// Ready returns nil while the node can apply the log, else why not: the
// node must not serve (its store would stay behind forever) until it is
// restarted.
func (n *Node) Ready() error {
	if err := n.broken.Load(); err != nil {
		return *err
	}
	return nil
}

// Applied returns the stream sequence of the last op this node applied.
func (n *Node) Applied() uint64 { return n.applied.Load() }

// WaitApplied blocks until this node applied the op at stream sequence
// seq, or ctx ends.
func (n *Node) WaitApplied(ctx context.Context, seq uint64) error {
	for {
		n.mu.Lock()
		changed := n.changed
		n.mu.Unlock()
		if n.applied.Load() >= seq {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// applyLoop applies the log in order from the op after the last applied,
// for as long as the node runs. An ordered consumer delivers every op once
// and in order, and is recreated from the next sequence after any gap.
func (n *Node) applyLoop() {
	defer n.wg.Done()
	b := retry.Backoff{Base: 100 * time.Millisecond, Max: 5 * time.Second}
	for attempt := 1; n.ctx.Err() == nil; attempt++ {
		if err := n.consume(); err != nil && n.ctx.Err() == nil {
			n.log.Warn("reading the replicated log; retrying", "err", err)
			retry.Sleep(n.ctx, b.Delay(attempt))
		}
	}
}

func (n *Node) consume() error {
	next := n.applied.Load() + 1
	cons, err := n.js.OrderedConsumer(n.ctx, opsStream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: next})
	if err != nil {
		return err
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(n.ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		msg, err := it.Next()
		if err != nil {
			return err
		}
		meta, err := msg.Metadata()
		if err != nil {
			return err
		}
		seq := meta.Sequence.Stream
		n.sawLog(seq + meta.NumPending)
		if seq <= n.applied.Load() {
			continue
		}
		if err := n.applyInOrder(msg, seq); err != nil {
			return err
		}
	}
}

// sawLog records that the log reaches seq at least.
func (n *Node) sawLog(seq uint64) {
	for {
		old := n.logged.Load()
		if seq <= old || n.logged.CompareAndSwap(old, seq) {
			return
		}
	}
}

// applyInOrder applies the op of msg, at seq, unless speculate applied it
// already. The op is read before applyMu is taken: an op carried by
// reference is fetched from the object store, which must not hold a
// speculation's turn.
func (n *Node) applyInOrder(msg jetstream.Msg, seq uint64) error {
	o, err := n.readOp(msg)
	if err != nil {
		return err
	}
	n.applyMu.Lock()
	defer n.applyMu.Unlock()
	if seq <= n.applied.Load() {
		return nil
	}
	if seq != n.applied.Load()+1 {
		err := fmt.Errorf("cluster: the log continues at %d after %d: the ops between were trimmed while this node was cut off; restart it to restore a snapshot", seq, n.applied.Load())
		n.broken.Store(&err)
		return err
	}
	return n.applyOp(o, seq)
}

// readOp returns the op msg carries, inline or by reference.
func (n *Node) readOp(msg jetstream.Msg) (*op, error) {
	data := msg.Data()
	if ref := msg.Headers().Get(refHeader); ref != "" {
		var err error
		if data, err = n.objs.GetBytes(n.ctx, ref); err != nil {
			return nil, fmt.Errorf("cluster: reading op %s: %w", ref, err)
		}
	}
	return decodeOp(data)
}

// applyOp applies o, at seq. An op failing with a ragd error
// failed the same way on every node (its collection was deleted before
// it, a name was taken): it is recorded as applied and its error goes to
// the caller. Any other failure (the disk, the database) is retried until
// it passes, so that no node skips an op another node applied.
func (n *Node) applyOp(o *op, seq uint64) error {
	b := retry.Backoff{Base: 100 * time.Millisecond, Max: 5 * time.Second}
	var out outcome
	for attempt := 1; ; attempt++ {
		ctx := store.WithApplied(context.Background(), seq)
		out.results, out.args, out.err = apply(ctx, n.st, o)
		var re *ragd.Error
		if out.err == nil {
			break
		}
		if errors.As(out.err, &re) {
			if err := n.st.MarkApplied(context.Background(), seq); err != nil {
				out.err = err
			} else {
				break
			}
		}
		if errors.Is(out.err, errUnknownOp) {
			n.log.Error("cannot apply an op of the replicated log: upgrade this node", "seq", seq, "op", o.Method, "err", out.err)
		} else {
			n.log.Error("applying an op of the replicated log failed; retrying", "seq", seq, "op", o.Method, "err", out.err)
		}
		if retry.Sleep(n.ctx, b.Delay(attempt)) != nil {
			return n.ctx.Err()
		}
	}
	n.finish(seq, o, &out)
	return nil
}

// finish records the op o as applied at seq with its outcome: it hands
// the outcome to the op's waiting caller, if on this node, and wakes what
// waits for the next op.
func (n *Node) finish(seq uint64, o *op, out *outcome) {
	n.applied.Store(seq)
	if f := n.filesDeleted.Load(); f != nil && out.err == nil {
		if ids := deletedFiles(o.Method, out); len(ids) > 0 {
			// Aside: a collection of many files costs as many removals,
			// which must not hold the log (file IDs are never reused).
			go (*f)(ids)
		}
	}
	n.mu.Lock()
	if ch := n.waiters[o.ID]; ch != nil {
		ch <- out
	}
	close(n.changed)
	n.changed = make(chan struct{})
	if o.Method == "CreateFile" {
		close(n.uploaded)
		n.uploaded = make(chan struct{})
	}
	n.mu.Unlock()
}

// uploadApplied returns a channel closed once this node applies its next
// upload.
func (n *Node) uploadApplied() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.uploaded
}
