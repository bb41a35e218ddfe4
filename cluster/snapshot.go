package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store"
)

// Names of the snapshots' parts in JetStream.
const (
	snapshotsStore = "RAGD_SNAPSHOTS"
	snapshotPrefix = "snapshot-"
	leasesKV       = "RAGD_LEASES"
	snapshotKey    = "snapshot"
	// snapshotLease bounds how long one node holds the right to take the
	// next snapshot: a node that died taking one frees it after this.
	snapshotLease = 10 * time.Minute
	// reportedLive is how recent a node's report must be for the log to
	// be kept for it: a live node is never trimmed past.
	reportedLive = 2 * time.Minute
)

// snapshotName names the snapshot holding the ops up to seq, so that names
// sort as sequences do.
func snapshotName(seq uint64) string { return fmt.Sprintf("%s%020d", snapshotPrefix, seq) }

// snapshots returns the sequences of the snapshots in the cluster, oldest
// first.
func (n *Node) snapshots(ctx context.Context) ([]uint64, error) {
	infos, err := n.snaps.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, info := range infos {
		if seq, err := strconv.ParseUint(strings.TrimPrefix(info.Name, snapshotPrefix), 10, 64); err == nil && !info.Deleted {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	return seqs, nil
}

// every calls run every period until the node closes, logging its
// errors as what: the snapshot check (maybeSnapshot, every SnapshotCheck)
// and the sweep of uploads no file holds (sweepNow, every OrphanCheck).
func (n *Node) every(period time.Duration, what string, run func(context.Context) error) {
	defer n.wg.Done()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		if err := run(n.ctx); err != nil && n.ctx.Err() == nil {
			n.log.Warn(what, "err", err)
		}
	}
}

// maybeSnapshot takes a snapshot when the node applied SnapshotEvery ops
// past the latest one, one node at a time.
func (n *Node) maybeSnapshot(ctx context.Context) error {
	seqs, err := n.snapshots(ctx)
	if err != nil {
		return err
	}
	var latest uint64
	if len(seqs) > 0 {
		latest = seqs[len(seqs)-1]
	}
	if n.applied.Load() < latest+n.cfg.SnapshotEvery {
		return nil
	}
	_, err = n.Snapshot(ctx)
	if errors.Is(err, errSnapshotting) {
		return nil // another node is taking one
	}
	return err
}

// errSnapshotting is the error of a snapshot asked for while one is being
// taken.
var errSnapshotting = &ragd.Error{Kind: ragd.ECONFLICT, Code: "snapshot_in_progress",
	Message: "a node of the cluster is taking a snapshot now; retry in a minute"}

// Snapshot writes a consistent copy of this node's store (store.Backup)
// into the cluster, named by the last op it holds, keeps the newest
// SnapshotsKept snapshots, and trims the log below the oldest kept one:
// a node whose store lacks ops no longer in the log restores a snapshot
// and replays the rest. The log is never trimmed past an upload not yet
// ingested, nor past the ops a live node has yet to apply. It returns the
// snapshot's sequence.
func (n *Node) Snapshot(ctx context.Context) (uint64, error) {
	// One at a time in the cluster: the lease, with a TTL in case its
	// holder dies.
	if _, err := n.leases.Create(ctx, snapshotKey, []byte(n.cfg.NodeName)); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return 0, errSnapshotting
		}
		return 0, err
	}
	defer n.leases.Delete(context.WithoutCancel(ctx), snapshotKey)
	ctx, cancel := context.WithTimeout(ctx, snapshotLease)
	defer cancel()
	tmp := n.cfg.DBPath + "." + ragd.NewID("snapshot")
	defer os.Remove(tmp)
	if err := n.st.Backup(ctx, tmp); err != nil {
		return 0, err
	}
	seq, err := store.ReadApplied(ctx, tmp)
	if err != nil {
		return 0, err
	}
	f, err := os.Open(tmp)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := n.putParts(ctx, n.snaps, snapshotName(seq), f, fi.Size()); err != nil {
		return 0, err
	}
	n.log.Info("snapshot taken", "seq", seq)
	seqs, err := n.snapshots(ctx)
	if err != nil {
		return seq, err
	}
	if !slices.Contains(seqs, seq) {
		// Listed by a replica that has not stored it yet.
		seqs = append(seqs, seq)
		slices.Sort(seqs)
	}
	for len(seqs) > n.cfg.SnapshotsKept {
		if err := deleteParts(ctx, n.snaps, snapshotName(seqs[0])); err != nil {
			return seq, err
		}
		seqs = seqs[1:]
	}
	// What failed deletes and puts left: this node holds the lease, so no
	// other snapshot is being put.
	kept := map[string]bool{}
	for _, s := range seqs {
		kept[snapshotName(s)] = true
	}
	if swept, err := sweepParts(ctx, n.snaps, func(name string) bool { return kept[name] }); err != nil {
		return seq, err
	} else if swept > 0 {
		n.log.Info("removed parts of snapshots no longer kept", "objects", swept)
	}
	return seq, n.trim(ctx, seqs[0])
}

// trim removes the ops of the log at or below the oldest kept snapshot's
// sequence, except those the ingest queue or a live node still needs.
func (n *Node) trim(ctx context.Context, oldest uint64) error {
	keep := oldest + 1
	// Every unfinished job's upload, handed out or not (a workspace's
	// ingest consumer may not exist yet). The uploads of ended jobs may go,
	// even one whose acknowledgement is still on its way.
	if seq, err := n.st.OldestUnfinishedUpload(ctx, ""); err != nil {
		return err
	} else if seq > 0 {
		keep = min(keep, seq)
	}
	stream, err := n.js.Stream(ctx, opsStream)
	if err != nil {
		return err
	}
	reports, err := n.reports(ctx)
	if err != nil {
		return err
	}
	for name, r := range reports {
		if time.Since(time.Unix(r.Reported, 0)) < reportedLive {
			if r.Applied+1 < keep {
				n.log.Debug("the log is kept for a node", "node", name, "applied", r.Applied)
			}
			keep = min(keep, r.Applied+1)
		}
	}
	if keep <= 1 {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	refs, err := n.opRefs(rctx, stream.CachedInfo().State.FirstSeq, keep)
	cancel()
	if err != nil {
		return err
	}
	if err := stream.Purge(ctx, jetstream.WithPurgeSequence(keep)); err != nil {
		return err
	}
	n.log.Info("log trimmed", "first_seq", keep)
	// The data of the trimmed ops carried by reference goes with them.
	for _, ref := range refs {
		if err := n.objs.Delete(ctx, ref); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return err
		}
	}
	return nil
}

// opRefs returns the op-data names the ops from first to before end refer
// to, reading only the ops' headers.
func (n *Node) opRefs(ctx context.Context, first, end uint64) ([]string, error) {
	if first == 0 || first >= end {
		return nil, nil
	}
	cons, err := n.js.OrderedConsumer(ctx, opsStream, jetstream.OrderedConsumerConfig{HeadersOnly: true,
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: first})
	if err != nil {
		return nil, err
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, err
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	var refs []string
	for {
		msg, err := it.Next()
		if err != nil {
			return nil, err
		}
		meta, err := msg.Metadata()
		if err != nil {
			return nil, err
		}
		if ref := msg.Headers().Get(refHeader); ref != "" {
			refs = append(refs, ref)
		}
		if meta.Sequence.Stream+1 >= end {
			return refs, nil
		}
	}
}

// errNoSnapshot is the error of a node whose store lacks ops that neither
// the log nor a snapshot holds: it cannot join.
var errNoSnapshot = errors.New("cluster: no snapshot covers this node's gap")

// restoreIfBehind replaces the node's database with the latest snapshot
// when the log no longer holds the ops after the database's last applied
// one (a new node, or one down while the log was trimmed). It reports
// whether it restored.
func (n *Node) restoreIfBehind(ctx context.Context) (bool, error) {
	applied, err := store.ReadApplied(ctx, n.cfg.DBPath)
	if err != nil {
		return false, fmt.Errorf("cluster: reading the applied position of %s: %w", n.cfg.DBPath, err)
	}
	stream, err := n.js.Stream(ctx, opsStream)
	if err != nil {
		return false, err
	}
	state := stream.CachedInfo().State
	if applied > state.LastSeq {
		return false, fmt.Errorf("%w: this node applied the log up to %d but the log ends at %d: the stream was recreated or lost; "+
			"start this node on an empty data directory to restore the cluster's latest snapshot", errNoSnapshot, applied, state.LastSeq)
	}
	first := state.FirstSeq
	if state.Msgs == 0 {
		first = state.LastSeq + 1
	}
	if applied+1 >= first {
		return false, nil
	}
	seqs, err := n.snapshots(ctx)
	if err != nil {
		return false, err
	}
	if len(seqs) == 0 || seqs[len(seqs)-1]+1 < first {
		return false, fmt.Errorf("%w: this node applied the log up to %d, the log starts at %d, and no snapshot covers the ops between", errNoSnapshot, applied, first)
	}
	seq := seqs[len(seqs)-1]
	tmp := n.cfg.DBPath + ".restore"
	if err := getParts(ctx, n.snaps, snapshotName(seq), tmp); err != nil {
		return false, fmt.Errorf("cluster: fetching snapshot %d: %w", seq, err)
	}
	// What the snapshot's node recorded of itself alone goes before the
	// copy takes the database's place, so that no crash leaves it there.
	if err := store.ForgetNodeLocalIn(ctx, tmp); err != nil {
		return false, err
	}
	for _, suffix := range []string{"-wal", "-shm", ""} {
		if err := os.Remove(n.cfg.DBPath + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, err
		}
	}
	if err := os.Rename(tmp, n.cfg.DBPath); err != nil {
		return false, err
	}
	n.log.Info("restored a snapshot: this node's store lacked ops the log no longer holds", "snapshot_seq", seq, "had_applied", applied, "log_first_seq", first)
	return true, nil
}
