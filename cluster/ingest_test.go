package cluster_test

import (
	"context"
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
	col, err := svc.CreateCollection(ctx, ragd.DefaultWorkspace, service.NewCollection{Name: "uploads"})
	if err != nil {
		t.Fatal(err)
	}
	w := n.Writer()
	upload := func(id string) *ragd.File {
		t.Helper()
		f, _, err := w.CreateFile(ctx, ragd.DefaultWorkspace, col.ID, &ragd.File{ID: id, Filename: "notes.txt", Bytes: 5,
			ContentType: "text/plain", SHA256: "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", Created: 1})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := upload("file_1")
	// Claimed through the log by a node that never held the upload.
	if _, err := w.StartJob(ctx, f.ID, 0, "ghost", 2); err != nil {
		t.Fatal(err)
	}
	if again := upload("file_2"); again.ID != f.ID {
		t.Fatalf("a second upload of the same bytes made file %s; want %s", again.ID, f.ID)
	}

	q := n.Queue()
	var job *store.Job
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
