package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// SetMaxInline sets the largest op n logs inline; larger ones go through
// the op-data object store, by reference.
func SetMaxInline(n *Node, size int) { n.maxInline = size }

// OpData counts the data of ops carried by reference that n's cluster
// keeps.
func OpData(t testing.TB, n *Node) int { return objects(t, n.objs) }

// FileCopies counts the uploaded files' bytes that n's cluster keeps:
// each file's, whole or any of its parts.
func FileCopies(t testing.TB, n *Node) int { return objects(t, n.files) }

// objects counts the objects of objs by name, their parts together.
func objects(t testing.TB, objs jetstream.ObjectStore) int {
	names := map[string]bool{}
	for _, part := range objectNames(t, objs) {
		name, _ := partOf(part)
		names[name] = true
	}
	return len(names)
}

// objectNames returns the names of the objects of objs, parts each on
// their own, sorted.
func objectNames(t testing.TB, objs jetstream.ObjectStore) []string {
	infos, err := objs.List(context.Background())
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, info := range infos {
		if !info.Deleted {
			names = append(names, info.Name)
		}
	}
	slices.Sort(names)
	return names
}

// Reported returns the applied position every node last reported, as n
// knows it (without asking the stream anything).
func Reported(n *Node) map[string]uint64 {
	reports, _ := n.reports(context.Background())
	out := map[string]uint64{}
	for name, r := range reports {
		out[name] = r.Applied
	}
	return out
}

// IngestQueue returns how many uploads n's cluster has not handed out
// yet, and how many it handed out that no node acknowledged, over every
// ingest consumer.
func IngestQueue(t testing.TB, n *Node) (pending uint64, unacked int) {
	ctx := context.Background()
	stream, err := n.js.Stream(ctx, opsStream)
	if err != nil {
		t.Fatal(err)
	}
	list := stream.ListConsumers(ctx)
	for info := range list.Info() {
		if strings.HasPrefix(info.Name, ingestConsumer) {
			pending += info.NumPending
			unacked += info.NumAckPending
		}
	}
	if err := list.Err(); err != nil {
		t.Fatal(err)
	}
	return pending, unacked
}

// SweepOrphans runs n's sweep of uploads no file holds, with a grace of
// grace.
func SweepOrphans(ctx context.Context, n *Node, grace time.Duration) (int, error) {
	n.cfg.OrphanGrace = grace
	return n.sweepOrphans(ctx)
}

// DeleteIngestConsumer deletes the ingest consumer of workspace ws, as
// JetStream does to one left idle for ingestIdle.
func DeleteIngestConsumer(t testing.TB, n *Node, ws string) {
	if err := n.js.DeleteConsumer(context.Background(), opsStream, uploadConsumerName(ws)); err != nil {
		t.Fatal(err)
	}
}

// Speculation returns how many of its own ops n applied ahead of their
// acknowledgement and kept, and how many it applied ahead and dropped.
func Speculation(n *Node) (kept, dropped uint64) { return n.kept.Load(), n.dropped.Load() }

// ApplyAhead has n apply an op of method with args ahead of the log, as it
// does for its own writes, the log then acknowledging the op at seq or
// refusing it with err.
func ApplyAhead(n *Node, method string, args []any, seq uint64, err error) error {
	data, e := encodeOp(fmt.Sprintf("%s-test-%d", n.cfg.NodeName, n.counter.Add(1)), method, args)
	if e != nil {
		return e
	}
	o, e := decodeOp(data)
	if e != nil {
		return e
	}
	pub := &publication{done: make(chan struct{}), ack: &jetstream.PubAck{Sequence: seq}, err: err}
	close(pub.done)
	n.applyMu.Lock()
	defer n.applyMu.Unlock()
	n.applyAhead(o, n.applied.Load(), pub)
	return nil
}

// SetPartSize sets the most bytes n puts in one object of the object
// stores.
func SetPartSize(n *Node, size int64) { n.partSize.Store(size) }

// DeleteSnapshotPart deletes part i of the latest snapshot n's cluster
// lists.
func DeleteSnapshotPart(t testing.TB, n *Node, i int) {
	name := latestSnapshot(t, n)
	l, err := layoutOf(context.Background(), n.snaps, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.snaps.Delete(context.Background(), partName(name, l.nonce, i)); err != nil {
		t.Fatal(err)
	}
}

// SnapshotParts returns the number of parts of the latest snapshot n's
// cluster lists.
func SnapshotParts(t testing.TB, n *Node) int {
	l, err := layoutOf(context.Background(), n.snaps, latestSnapshot(t, n))
	if err != nil {
		t.Fatal(err)
	}
	return l.parts
}

func latestSnapshot(t testing.TB, n *Node) string {
	seqs, err := n.snapshots(context.Background())
	if err != nil || len(seqs) == 0 {
		t.Fatalf("listing the snapshots: %v, %v", seqs, err)
	}
	return snapshotName(seqs[len(seqs)-1])
}

// FileObjects returns the names of the objects in n's files store, parts
// each on their own.
func FileObjects(t testing.TB, n *Node) []string { return objectNames(t, n.files) }

// PutFileObject stores data under name in n's files store as one object
// with no layout, as ragd did before parts.
func PutFileObject(t testing.TB, n *Node, name string, data []byte) {
	if _, err := n.files.PutBytes(context.Background(), name, data); err != nil {
		t.Fatal(err)
	}
}

// GetFileParts reads the object name of n's files store, once, into path.
func GetFileParts(n *Node, name, path string) error {
	return getParts(context.Background(), n.files, name, path)
}

// SweepFileParts sweeps n's files store as Snapshot sweeps its snapshots.
func SweepFileParts(n *Node, keep func(string) bool) (int, error) {
	return sweepParts(context.Background(), n.files, keep)
}

// DeleteFilePart deletes part i of the object name in n's files store.
func DeleteFilePart(t testing.TB, n *Node, name string, i int) {
	l, err := layoutOf(context.Background(), n.files, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.files.Delete(context.Background(), partName(name, l.nonce, i)); err != nil {
		t.Fatal(err)
	}
}
