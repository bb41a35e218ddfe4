package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/internal/retry"
	"github.com/ragd/ragd/store"
)

// Names of the file ingest's parts in JetStream: the bucket of uploaded
// files' bytes, and the work-queue consumers of the log's file uploads.
const (
	filesStore = "RAGD_FILES"
	// ingestConsumer names the consumer of the uploads logged on
	// fileSubject itself, by ragd versions before uploads had a subject
	// per workspace; the consumer of a workspace's uploads is named
	// uploadConsumerName(ws).
	ingestConsumer = "ragd-ingest"
	// fileSubject is the root of the subjects of CreateFile ops, which
	// the ingest consumers read; every other op is logged on writeSubject.
	fileSubject  = "ragd.ops.file"
	writeSubject = "ragd.ops.w"
)

// ingestIdle is how long a workspace's ingest consumer lives without a
// claim asking it for uploads; the next upload of the workspace creates
// it again. A consumer is a replicated group of its own in JetStream, so
// only workspaces that upload keep one.
const ingestIdle = time.Hour

// uploadToken is the subject token and consumer name suffix of workspace
// ws: a workspace name may hold characters a subject may not.
func uploadToken(ws string) string {
	sum := sha256.Sum256([]byte(ws))
	return hex.EncodeToString(sum[:8])
}

// uploadSubject is the subject of the uploads of workspace ws.
func uploadSubject(ws string) string { return fileSubject + "." + uploadToken(ws) }

// uploadConsumerName is the durable name of workspace ws's ingest consumer.
func uploadConsumerName(ws string) string { return ingestConsumer + "-" + uploadToken(ws) }

// ingestAckWait is how long a node may hold an upload without telling
// JetStream it is still working on it; a node that died holding it loses
// it to another node after this.
const ingestAckWait = 30 * time.Second

// Queue is the cluster's ingest queue (ingest.Queue): every upload's
// CreateFile op is also a work item of its workspace's durable JetStream
// consumer, shared by all nodes, so each file is handed to one node. The
// node claims the file's job through the log (StartJob, fenced by the
// attempt count), tells JetStream it is working while it ingests, and
// acknowledges once the file was published or failed. When the node dies,
// JetStream hands the upload to another node, whose claim removes what the
// first staged.
//
// One consumer per workspace, because a consumer hands out its uploads in
// the order they were logged: with one for all, a workspace's thousand
// uploads would hold every other workspace's files behind them. A claim
// asks the workspaces' consumers in the order a single node's queue would
// pick between them (store.IngestWorkspaces: the fewest running jobs
// first), each job of the log being in every node's store.
type Queue struct {
	n      *Node
	legacy jetstream.Consumer // uploads logged on fileSubject itself

	mu   sync.Mutex
	cons map[string]*wsConsumer // by workspace
	held map[claim]*heldMsg
}

// claim names one claim of a file's job: the job's file, owner and
// attempt after the claim. A takeover by this same node is another claim.
type claim struct {
	fileID, owner string
	attempts      int
}

func claimOf(job *store.Job) claim { return claim{job.File.ID, job.Owner, job.Attempts} }

type heldMsg struct {
	msg  jetstream.Msg
	stop context.CancelFunc
}

var _ ingest.Queue = (*Queue)(nil)

// Queue returns the node's ingest queue.
func (n *Node) Queue() *Queue { return n.queue }

func (n *Node) openQueue(ctx context.Context) error {
	legacy, err := n.js.CreateOrUpdateConsumer(ctx, opsStream, n.uploadConsumer(ingestConsumer, fileSubject, 0))
	if err != nil {
		return err
	}
	n.queue = &Queue{n: n, legacy: legacy, cons: map[string]*wsConsumer{}, held: map[claim]*heldMsg{}}
	return nil
}

// uploadConsumer is the configuration of the ingest consumer name of the
// uploads on subject, removed after idle without a claim (0: never).
func (n *Node) uploadConsumer(name, subject string, idle time.Duration) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable: name, Description: "uploads to ingest, each handed to one node",
		FilterSubject: subject, AckPolicy: jetstream.AckExplicitPolicy, AckWait: ingestAckWait,
		MaxDeliver: -1, Replicas: n.cfg.Replicas, InactiveThreshold: idle,
	}
}

// wsConsumer is a workspace's ingest consumer as a node last found it.
type wsConsumer struct {
	c       jetstream.Consumer
	checked time.Time // when JetStream last said it exists
	polled  time.Time // when a claim last asked it for a running job's upload
}

// consumer returns the ingest consumer of workspace ws's uploads. A
// handle older than ingestAckWait is checked with JetStream first, as
// JetStream removes a consumer left idle (ingestIdle) without telling the
// nodes holding it. A consumer that does not exist is created, starting
// at the oldest upload of an unfinished job of the workspace: the uploads
// before it ended.
func (q *Queue) consumer(ctx context.Context, ws string) (*wsConsumer, error) {
	q.mu.Lock()
	wc := q.cons[ws]
	q.mu.Unlock()
	if wc != nil && time.Since(wc.checked) < ingestAckWait {
		return wc, nil
	}
	name := uploadConsumerName(ws)
	c, err := q.n.js.Consumer(ctx, opsStream, name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		cfg := q.n.uploadConsumer(name, uploadSubject(ws), ingestIdle)
		var start uint64
		if start, err = q.n.st.OldestUnfinishedUpload(ctx, ws); err != nil {
			return nil, err
		}
		if start > 0 {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start
		}
		c, err = q.n.js.CreateConsumer(ctx, opsStream, cfg)
		if errors.Is(err, jetstream.ErrConsumerExists) { // created by another node meanwhile
			c, err = q.n.js.Consumer(ctx, opsStream, name)
		}
	}
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if wc == nil || wc.c != c {
		wc = &wsConsumer{c: c}
		q.cons[ws] = wc
	}
	wc.checked = time.Now()
	return wc, nil
}

// next returns the next upload c hands out without waiting for one, or
// nil. A consumer JetStream removed is forgotten, to be created again by
// the next claim of its workspace.
func (q *Queue) next(c jetstream.Consumer, ws string) jetstream.Msg {
	batch, err := c.FetchNoWait(1)
	if err == nil {
		for msg := range batch.Messages() {
			return msg
		}
		err = batch.Error()
	}
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted) ||
		errors.Is(err, nats.ErrNoResponders) {
		q.mu.Lock()
		if wc := q.cons[ws]; wc != nil && wc.c == c {
			delete(q.cons, ws)
		}
		q.mu.Unlock()
	}
	if err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
		// A leader changing or a quorum lost: the health check
		// reports the cluster; uploads wait in the stream meanwhile.
		q.n.log.Debug("reading the ingest queue", "workspace", ws, "err", err)
	}
	return nil
}

// Recover has nothing to do: jobs this node held when it stopped are
// handed out again by JetStream, to it or another node.
func (q *Queue) Recover(context.Context) (int, error) { return 0, nil }

// claimWait bounds how long Claim waits for an upload.
const claimWait = time.Second

// Claim takes the next upload of the uploads logged before workspaces had
// consumers of their own, then of the workspaces that
// store.IngestWorkspaces lists (with idleOnly, only workspaces with no job
// running), and claims its file's job (take). Finding none, it waits up
// to claimWait for this node to apply another upload.
func (q *Queue) Claim(ctx context.Context, idleOnly bool) (*store.Job, error) {
	deadline := time.NewTimer(claimWait)
	defer deadline.Stop()
	for {
		uploaded := q.n.uploadApplied()
		job, err := q.claimNext(ctx, idleOnly)
		if job != nil || err != nil {
			return job, err
		}
		select {
		case <-uploaded:
		case <-deadline.C:
			return nil, nil
		case <-ctx.Done():
			return nil, nil
		}
	}
}

// runningPoll is how often a node asks the consumer of a workspace with
// only running jobs for uploads: one comes back only when its claimer
// died (after ingestAckWait), or is another upload of a running file's
// bytes, to skip.
const runningPoll = 2 * time.Second

// claimNext reads each listed workspace's uploads until one is claimed or
// none is left, skipping those take skips; a workspace with only running
// jobs at most every runningPoll.
func (q *Queue) claimNext(ctx context.Context, idleOnly bool) (*store.Job, error) {
	if !idleOnly {
		if job, err := q.drain(ctx, q.legacy, ""); job != nil || err != nil {
			return job, err
		}
	}
	wss, err := q.n.st.IngestWorkspaces(ctx, idleOnly)
	if err != nil {
		return nil, err
	}
	for _, ws := range wss {
		wc, err := q.consumer(ctx, ws.Name)
		if err != nil {
			q.n.log.Debug("opening a workspace's ingest queue", "workspace", ws.Name, "err", err)
			continue
		}
		if !ws.Ready {
			q.mu.Lock()
			recent := time.Since(wc.polled) < runningPoll
			if !recent {
				wc.polled = time.Now()
			}
			q.mu.Unlock()
			if recent {
				continue
			}
		}
		if job, err := q.drain(ctx, wc.c, ws.Name); job != nil || err != nil {
			return job, err
		}
	}
	return nil, nil
}

// drain takes c's uploads until one is claimed or c has none left.
func (q *Queue) drain(ctx context.Context, c jetstream.Consumer, ws string) (*store.Job, error) {
	for {
		msg := q.next(c, ws)
		if msg == nil {
			return nil, nil
		}
		if job, err := q.take(ctx, msg); job != nil || err != nil {
			return job, err
		}
	}
}

// take waits until this node applied the upload msg and claims its
// file's job through the log. An upload whose job ended, or a second
// upload of the same bytes, is acknowledged and skipped; one another node
// claimed first is skipped without an acknowledgement, which would count
// as that node's.
func (q *Queue) take(ctx context.Context, msg jetstream.Msg) (*store.Job, error) {
	meta, err := msg.Metadata()
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = q.n.WaitApplied(wctx, meta.Sequence.Stream)
	cancel()
	if err != nil {
		msg.Nak()
		return nil, err
	}
	o, err := q.n.readOp(msg)
	if err != nil {
		return nil, err
	}
	var ws, colID string
	var f ragd.File
	if len(o.Args) != 3 || msgpack.Unmarshal(o.Args[0], &ws) != nil || msgpack.Unmarshal(o.Args[1], &colID) != nil ||
		msgpack.Unmarshal(o.Args[2], &f) != nil {
		msg.Term()
		return nil, errors.New("cluster: an upload in the log is not a CreateFile op")
	}
	job, err := q.n.st.JobOfUpload(ctx, ws, colID, f.SHA256)
	var re *ragd.Error
	switch {
	case errors.As(err, &re):
		msg.Ack() // the file or its collection is gone
		return nil, nil
	case err != nil:
		msg.Nak()
		return nil, err
	case job.State != store.JobQueued && job.State != store.JobRunning,
		// Another upload of the same bytes, which queued nothing: the
		// job's own upload is another message. JetStream's delivery
		// count cannot tell them apart: a consumer leader lost with its
		// delivered state hands a held message out again as new.
		job.UploadSeq != 0 && job.UploadSeq != meta.Sequence.Stream:
		msg.Ack()
		return nil, nil
	}
	// The job's own upload, queued or running: running, its last claimer
	// let go of the upload (it died, handed it back, or lost it with a
	// consumer leader) and this claim takes the job over, fenced by the
	// attempt count; a claimer still at work sees its writes refused.
	claimed, err := q.n.Writer().StartJob(ctx, job.File.ID, job.Attempts, q.n.cfg.NodeName, time.Now().Unix())
	switch {
	case errors.As(err, &re) && re.Code == "ingest_claimed":
		// Claimed first by a node handed this same upload too (an upload
		// is delivered at least once). That node holds it: an
		// acknowledgement here would count as its own, and lose the job
		// if it died. Its heartbeats keep the upload from coming back.
		return nil, nil
	case errors.As(err, &re) && re.Kind == ragd.ECONFLICT:
		msg.Ack() // ended
		return nil, nil
	}
	if err != nil {
		// The claim may still be applied (a write the stream did not
		// confirm in time), making this node the job's owner without
		// holding its upload: the upload comes back once that is
		// settled, and its next holder takes the job over.
		msg.NakWithDelay(ingestAckWait)
		return nil, err
	}
	q.hold(claimOf(claimed), msg)
	return claimed, nil
}

// hold keeps msg as the upload of claim c, telling JetStream the node is
// still working on it until it is released.
func (q *Queue) hold(c claim, msg jetstream.Msg) {
	ctx, stop := context.WithCancel(q.n.ctx)
	q.mu.Lock()
	q.held[c] = &heldMsg{msg: msg, stop: stop}
	q.mu.Unlock()
	go func() {
		t := time.NewTicker(ingestAckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				msg.InProgress()
			}
		}
	}()
}

// release returns the held upload of job's claim, no longer kept alive,
// or nil when the claim was lost: another claim (on another node, or a
// takeover on this one) holds the upload now, and only its holder may
// acknowledge or hand it back (JetStream takes an acknowledgement by the
// message, whichever delivery sends it).
func (q *Queue) release(job *store.Job) jetstream.Msg {
	c := claimOf(job)
	q.mu.Lock()
	h := q.held[c]
	delete(q.held, c)
	q.mu.Unlock()
	if h == nil {
		return nil
	}
	h.stop()
	if cur, err := q.n.st.JobOfFile(q.n.ctx, job.File.ID); err == nil && (cur.Attempts != job.Attempts || cur.Owner != job.Owner) {
		return nil // taken over: the upload is another claim's
	}
	return h.msg
}

// Requeue hands the upload back at once, to this node or another.
func (q *Queue) Requeue(_ context.Context, job *store.Job) error {
	if msg := q.release(job); msg != nil {
		return msg.Nak()
	}
	return nil
}

// Retry hands the upload back to be delivered again at at.
func (q *Queue) Retry(_ context.Context, job *store.Job, at time.Time) error {
	if msg := q.release(job); msg != nil {
		return msg.NakWithDelay(time.Until(at))
	}
	return nil
}

// Done acknowledges the upload: its file was published, failed or
// deleted.
func (q *Queue) Done(ctx context.Context, job *store.Job) {
	if msg := q.release(job); msg != nil {
		if err := msg.DoubleAck(ctx); err != nil {
			q.n.log.Warn("acknowledging an ingested upload", "file_id", job.File.ID, "err", err)
		}
	}
}

// Blobs keeps uploaded files' bytes in the cluster's object store
// (ingest.Blobs), so that any node can ingest a file or serve its bytes.
type Blobs struct{ n *Node }

var _ ingest.Blobs = Blobs{}

// Blobs returns the node's store of file bytes.
func (n *Node) Blobs() Blobs { return Blobs{n} }

// Each object-store call is bounded by blobTimeout of the bytes it moves.
// Its JetStream API requests otherwise wait as long as the caller's
// context allows when their reply is lost, as it is when a node dies
// and a leader changes: an ingest's context allows the file timeout
// (30 minutes by default), and meanwhile its node keeps the upload held.
// A call that times out fails; the ingest retries it later.
const (
	// blobCallBase is the bound of a call moving no bytes.
	blobCallBase = 20 * time.Second
	// blobMinRate is the slowest transfer between nodes a call allows
	// for, in bytes per second.
	blobMinRate = 8 << 20
)

// blobTimeout bounds an object-store call moving size bytes.
func blobTimeout(size int64) time.Duration {
	return blobCallBase + time.Duration(size/blobMinRate)*time.Second
}

// Put stores the bytes at path under id.
func (b Blobs) Put(ctx context.Context, id, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return b.n.putParts(ctx, b.n.files, id, f, fi.Size())
}

// getRetry bounds how long Get retries bytes it does not find: reads may
// be answered by a replica of the bucket that has not yet stored what its
// leader acknowledged.
const getRetry = 10 * time.Second

// Get writes the bytes stored under id to path; bytes still missing after
// getRetry are an error wrapping fs.ErrNotExist.
func (b Blobs) Get(ctx context.Context, id, path string) error {
	deadline := time.Now().Add(getRetry)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		err := getParts(ctx, b.n.files, id, path)
		if !errors.Is(err, jetstream.ErrObjectNotFound) {
			return err
		}
		if time.Now().After(deadline) {
			return &fs.PathError{Op: "get", Path: id, Err: fs.ErrNotExist}
		}
		if err := retry.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// Delete removes the bytes stored under ids.
func (b Blobs) Delete(ctx context.Context, ids []string) error {
	var errs []error
	for _, id := range ids {
		errs = append(errs, deleteParts(ctx, b.n.files, id))
	}
	return errors.Join(errs...)
}

// sweepNow runs sweepOrphans, logging what it removed; an error goes to
// the caller (every, which logs it as what).
func (n *Node) sweepNow(ctx context.Context) error {
	removed, err := n.sweepOrphans(ctx)
	if removed > 0 {
		n.log.Info("removed uploads no file holds", "uploads", removed)
	}
	return err
}

// sweepOrphans deletes the shared copies of uploaded bytes that no file
// holds and that are older than OrphanGrace, and returns how many: the
// bytes of an upload whose CreateFile the stream did not confirm in time
// and that never reached the log. The node first applies the whole log,
// so a copy whose op was logged by then has its file in the store; an op
// logged more than OrphanGrace after its bytes (a cluster without a
// quorum for that long) finds them gone and its ingest fails.
func (n *Node) sweepOrphans(ctx context.Context) (int, error) {
	ictx, cancel := context.WithTimeout(ctx, syncTimeout)
	stream, err := n.js.Stream(ictx, opsStream)
	cancel()
	if err != nil {
		return 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, applyWait)
	err = n.WaitApplied(wctx, stream.CachedInfo().State.LastSeq)
	cancel()
	if err != nil {
		return 0, fmt.Errorf("this node does not apply the log (%w): no upload is removed", err)
	}
	lctx, cancel := context.WithTimeout(ctx, blobTimeout(0))
	infos, err := n.files.List(lctx)
	cancel()
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	cutoff := time.Now().Add(-n.cfg.OrphanGrace)
	held := map[string]bool{}
	orphans := map[string]bool{}
	var objects []string // of the orphans, each part (a failed put leaves parts without their first)
	for _, info := range infos {
		if info.Deleted || info.ModTime.After(cutoff) {
			continue
		}
		id, _ := partOf(info.Name)
		if _, ok := held[id]; !ok {
			if held[id], err = n.st.HasFile(ctx, id); err != nil {
				return 0, err
			}
		}
		if !held[id] {
			orphans[id] = true
			objects = append(objects, info.Name)
		}
	}
	if len(orphans) == 0 {
		return 0, nil
	}
	return len(orphans), Blobs{n}.Delete(ctx, objects)
}
