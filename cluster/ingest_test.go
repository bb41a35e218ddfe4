package cluster_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/cluster"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store"
)

// TestQueueTakesOverALostClaim drives the ingest queue of a one-node
// cluster by hand. A job claimed by a node that no longer holds its upload
// (the node died, or a consumer leader lost the delivery with its
// replicated state, so that the upload comes back counted as a first
// delivery) is taken over by the node the upload is handed to next; a
// second upload of the same bytes is acknowledged and leaves the job
// alone; and the taken-over upload is acknowledged once its ingest ends.
func TestQueueTakesOverALostClaim(t *testing.T) {
	ctx := context.Background()
	n, upload := queueNode(t)
	w := n.Writer()
	f := upload(ragd.DefaultWorkspace, "file_1", "hello")
	// Claimed through the log by a node that never held the upload.
	if _, err := w.StartJob(ctx, f.ID, 0, "ghost", 2); err != nil {
		t.Fatal(err)
	}
	if again := upload(ragd.DefaultWorkspace, "file_2", "hello"); again.ID != f.ID {
		t.Fatalf("a second upload of the same bytes made file %s; want %s", again.ID, f.ID)
	}

	q := n.Queue()
	var job *store.Job
	var err error
	testwait.Until(t, time.Minute, func() bool {
		job, err = q.Claim(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		return job != nil
	}, "the upload of a job whose claimer let it go was never claimed again")
	if job.File.ID != f.ID || job.Owner != "n1" || job.Attempts != 2 || job.State != store.JobRunning {
		t.Fatalf("claimed the job of %s owned by %s, attempt %d, %s; want %s taken over by n1 as attempt 2, running",
			job.File.ID, job.Owner, job.Attempts, job.State, f.ID)
	}
	testwait.Until(t, time.Minute, func() bool {
		pending, _ := cluster.IngestQueue(t, n)
		if pending == 0 {
			return true
		}
		if other, err := q.Claim(ctx, false); err != nil || other != nil {
			t.Fatalf("the second upload of the same bytes claimed %v, %v; want it skipped", other, err)
		}
		return false
	}, "the second upload of the same bytes was never handed out")
	if cur, err := n.Store().JobOfFile(ctx, f.ID); err != nil || cur.Attempts != 2 || cur.Owner != "n1" {
		t.Fatalf("after the second upload the job is %+v, %v; want n1's attempt 2", cur, err)
	}
	if _, unacked := cluster.IngestQueue(t, n); unacked != 1 {
		t.Errorf("%d uploads held without acknowledgement; want 1, the claimed one", unacked)
	}
	if err := w.FailJob(ctx, job, ragd.FileError{Code: "unsupported_file", Message: "test"}, 3); err != nil {
		t.Fatal(err)
	}
	q.Done(ctx, job)
	testwait.Until(t, time.Minute, func() bool { _, unacked := cluster.IngestQueue(t, n); return unacked == 0 },
		"the ended job's upload was never acknowledged")
}

// queueNode opens a one-node cluster whose ingest queue a test drives by
// hand, and returns it with a function that logs an upload of a file of
// the given ID and body to a collection of workspace ws (created on first
// use), without its bytes, and returns the file the log recorded.
func queueNode(t *testing.T) (*cluster.Node, func(ws, id, body string) *ragd.File) {
	ctx := context.Background()
	dir := t.TempDir()
	log := testLogger(t, "n1")
	n, err := cluster.Open(ctx, cluster.Config{NodeName: "n1", Listen: freeAddr(t), Dir: filepath.Join(dir, "nats"),
		DBPath: filepath.Join(dir, store.FileName), StartTimeout: time.Minute, WriteTimeout: 3 * time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	svc := service.New(service.Config{Store: n.Store(), Writer: n.Writer(), Logger: log,
		Embedders: embed.NewRegistry(embed.HashModelName, embed.NewHash(64))})
	cols := map[string]string{}
	return n, func(ws, id, body string) *ragd.File {
		t.Helper()
		if cols[ws] == "" {
			col, err := svc.CreateCollection(ctx, ws, service.NewCollection{Name: "uploads"})
			if err != nil {
				t.Fatal(err)
			}
			cols[ws] = col.ID
		}
		sum := sha256.Sum256([]byte(body))
		f, _, err := n.Writer().CreateFile(ctx, ws, cols[ws], &ragd.File{ID: id, Filename: id + ".txt", Bytes: int64(len(body)),
			ContentType: "text/plain", SHA256: hex.EncodeToString(sum[:]), Created: 1})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
}

// TestQueueIsFairAcrossWorkspaces drives the ingest queue of a one-node
// cluster by hand. Uploads are claimed as one node's queue would claim
// them, not in the order they were logged: the workspace with the fewest
// running jobs first, so that a workspace's backlog does not hold another
// workspace's file behind it; and the claim of the worker kept for idle
// workspaces takes only a workspace with no job running.
func TestQueueIsFairAcrossWorkspaces(t *testing.T) {
	ctx := context.Background()
	n, upload := queueNode(t)
	q := n.Queue()
	claim := func(idleOnly bool) *store.Job {
		t.Helper()
		var job *store.Job
		testwait.Until(t, time.Minute, func() bool {
			var err error
			if job, err = q.Claim(ctx, idleOnly); err != nil {
				t.Fatal(err)
			}
			return job != nil
		}, "no upload was claimed")
		return job
	}
	expect := func(job *store.Job, want *ragd.File) {
		t.Helper()
		if job.File.ID != want.ID {
			t.Fatalf("claimed %s of workspace %s; want %s", job.File.ID, job.Workspace, want.ID)
		}
	}
	finish := func(jobs ...*store.Job) {
		t.Helper()
		for _, job := range jobs {
			if err := n.Writer().FailJob(ctx, job, ragd.FileError{Code: "unsupported_file", Message: "test"}, 3); err != nil {
				t.Fatal(err)
			}
			q.Done(ctx, job)
		}
	}

	a1, a2 := upload("team-a", "file_a1", "a1"), upload("team-a", "file_a2", "a2")
	b1 := upload("team-b", "file_b1", "b1")
	j1 := claim(false)
	expect(j1, a1)
	j2 := claim(false) // team-b runs nothing, team-a one file
	expect(j2, b1)
	j3 := claim(false)
	expect(j3, a2)
	finish(j1, j2, j3)

	a3, a4 := upload("team-a", "file_a3", "a3"), upload("team-a", "file_a4", "a4")
	b2 := upload("team-b", "file_b2", "b2")
	j4 := claim(false)
	expect(j4, a3)
	j5 := claim(true) // team-a runs a file: the idle worker takes team-b's
	expect(j5, b2)
	if job, err := q.Claim(ctx, true); job != nil || err != nil {
		t.Fatalf("with a file running in each workspace, the idle worker claimed %v, %v; want nothing", job, err)
	}
	j6 := claim(false)
	expect(j6, a4)
	finish(j4, j5, j6)
	testwait.Until(t, time.Minute, func() bool { pending, unacked := cluster.IngestQueue(t, n); return pending == 0 && unacked == 0 },
		"the ended jobs' uploads were never all acknowledged")

	// JetStream removes a workspace's consumer left idle, without telling
	// the node that holds it: the node's next claim of the workspace
	// makes a new one, well before it would check its handle again
	// (ingestAckWait), and the new consumer starts at the new upload.
	cluster.DeleteIngestConsumer(t, n, "team-b")
	b3 := upload("team-b", "file_b3", "b3")
	var j7 *store.Job
	testwait.Until(t, 20*time.Second, func() bool {
		var err error
		if j7, err = q.Claim(ctx, false); err != nil {
			t.Fatal(err)
		}
		return j7 != nil
	}, "an upload to a workspace whose consumer JetStream removed was never claimed")
	expect(j7, b3)
	if pending, unacked := cluster.IngestQueue(t, n); pending != 0 || unacked != 1 {
		t.Errorf("the new consumer has %d uploads to hand out and %d unacknowledged; want 0 and 1 (the old uploads ended)", pending, unacked)
	}
	finish(j7)
}
