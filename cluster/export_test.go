package cluster

import (
	"context"
	"errors"
	"fmt"
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

// FileCopies counts the uploaded files' bytes that n's cluster keeps.
func FileCopies(t testing.TB, n *Node) int { return objects(t, n.files) }

func objects(t testing.TB, objs jetstream.ObjectStore) int {
	infos, err := objs.List(context.Background())
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, info := range infos {
		if !info.Deleted {
			count++
		}
	}
	return count
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
// acknowledgement and kept, and how many it had to leave to its apply loop.
func Speculation(n *Node) (kept, overtaken uint64) { return n.speculated.Load(), n.overtaken.Load() }

// SpeculateAt has n apply an op of method with args ahead of the log, as
// it does for its own writes, the log then acknowledging the op at seq or
// refusing it with err.
func SpeculateAt(n *Node, method string, args []any, seq uint64, err error) error {
	data, e := encodeOp(fmt.Sprintf("%s-test-%d", n.cfg.NodeName, n.counter.Add(1)), method, args)
	if e != nil {
		return e
	}
	pub := &publication{done: make(chan struct{}), ack: &jetstream.PubAck{Sequence: seq}, err: err}
	close(pub.done)
	n.speculate(data, pub)
	return nil
}

// SnapshotChunks returns the chunk size and count of the first snapshot
// n's cluster lists.
func SnapshotChunks(t testing.TB, n *Node) (size uint32, chunks uint32) {
	infos, err := n.snaps.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return infos[0].Opts.ChunkSize, infos[0].Chunks
}
