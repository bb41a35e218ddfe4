package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// newFile records a file with a given digest in c and returns it.
func newFile(t *testing.T, s *store.Store, c *ragd.Collection, sha string) *ragd.File {
	t.Helper()
	f, created, err := s.CreateFile(context.Background(), c.Workspace, c.ID, &ragd.File{ID: ragd.NewID("file"), Created: storetest.At, Filename: sha + ".txt",
		Bytes: 10, ContentType: "text/plain", SHA256: sha, Metadata: map[string]any{"source": "test"}, Chunking: c.Chunking})
	if err != nil || !created {
		t.Fatalf("CreateFile: %v, created %v", err, created)
	}
	return f
}

// claim claims the next job and checks it is file f's.
func claim(t *testing.T, s *store.Store, f *ragd.File) *store.Job {
	t.Helper()
	job, err := s.ClaimJob(context.Background(), false)
	if err != nil || job == nil || job.File.ID != f.ID || job.File.Status != ragd.FileProcessing {
		t.Fatalf("ClaimJob: %+v, %v; want the job of %s", job, err, f.ID)
	}
	return job
}

// stage stages one item with the given texts as chunks.
func stage(t *testing.T, s *store.Store, job *store.Job, texts ...string) *store.StagedItem {
	t.Helper()
	it := &store.StagedItem{NewItem: newItem(t, texts[0], job.File.Metadata)}
	for i, text := range texts[1:] {
		ch := newItem(t, text, nil).Chunks[0]
		ch.Index = i + 1
		it.Chunks = append(it.Chunks, ch)
	}
	if err := s.StageChunks(context.Background(), job, []*store.StagedItem{it}); err != nil {
		t.Fatal(err)
	}
	return it
}

func hits(t *testing.T, s *store.Store, c *ragd.Collection, text string) int {
	t.Helper()
	res, err := s.Search(context.Background(), c.Workspace, c.ID, ragd.SearchQuery{Text: text, Mode: ragd.ModeKeyword, TopK: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(res)
}

func TestFileLifecycle(t *testing.T) {
	ctx := context.Background()
	s := storetest.MustOpen(t)
	c := mustCollection(t, s, "ws", "docs")
	f := newFile(t, s, c, "aaa")

	t.Run("Dedup", func(t *testing.T) {
		again, created, err := s.CreateFile(ctx, c.Workspace, c.ID, &ragd.File{ID: ragd.NewID("file"), Created: storetest.At, Filename: "other.txt", SHA256: "aaa"})
		if err != nil || created || again.ID != f.ID || again.Status != ragd.FileEnqueued {
			t.Fatalf("%+v, created %v, %v", again, created, err)
		}
	})
	job := claim(t, s, f)
	if next, err := s.ClaimJob(ctx, false); next != nil || err != nil {
		t.Fatalf("second claim %+v %v, want none", next, err)
	}
	it := stage(t, s, job, "staged zebra text")
	it.Chunks = append(it.Chunks[:0], newItem(t, "more zebra words", nil).Chunks[0])
	it.Chunks[0].Index = 1
	if err := s.StageChunks(ctx, job, []*store.StagedItem{it}); err != nil {
		t.Fatal(err)
	}
	if n := hits(t, s, c, "zebra"); n != 0 {
		t.Fatalf("%d staged chunks visible to search", n)
	}
	if items, _, err := s.Items(ctx, c.Workspace, c.ID, ragd.Page{Limit: 10}); err != nil || len(items) != 0 {
		t.Fatalf("staged items listed: %v %v", items, err)
	}
	if _, err := s.Item(ctx, c.Workspace, c.ID, it.ID); kindOf(err) != ragd.ENOTFOUND {
		t.Fatalf("staged item readable: %v", err)
	}
	if err := s.DeleteItem(ctx, c.Workspace, c.ID, it.ID, storetest.At); kindOf(err) != ragd.ENOTFOUND {
		t.Fatalf("staged item deletable: %v", err)
	}
	it.Content, it.Description = "the whole text", "whole"
	done, err := s.PublishFile(ctx, job, 3, []*store.StagedItem{it}, storetest.At)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != ragd.FileCompleted || done.Items != 1 || done.Chunks != 2 || done.Pages != 3 || done.CompletedAt == nil || done.Tokens < 4 {
		t.Fatalf("published %+v", done)
	}
	if n := hits(t, s, c, "zebra"); n != 2 {
		t.Fatalf("%d chunks visible after publish, want 2", n)
	}
	item, err := s.Item(ctx, c.Workspace, c.ID, it.ID)
	if err != nil || item.Content != "the whole text" || item.ChunkCount != 2 || item.FileID != f.ID || item.Metadata["source"] != "test" {
		t.Fatalf("item %+v %v", item, err)
	}
	col, _ := s.Collection(ctx, c.Workspace, c.ID)
	if col.FileCount != 1 || col.ItemCount != 1 || col.ChunkCount != 2 || col.Bytes != int64(len("the whole text")) {
		t.Fatalf("collection %+v", col)
	}

	t.Run("List", func(t *testing.T) {
		g := newFile(t, s, c, "bbb")
		list, more, err := s.Files(ctx, c.Workspace, c.ID, ragd.Page{Limit: 1})
		if err != nil || more != true || len(list) != 1 || list[0].ID != f.ID {
			t.Fatalf("%v %v %v", list, more, err)
		}
		list, more, err = s.Files(ctx, c.Workspace, c.ID, ragd.Page{Limit: 10, After: f.ID})
		if err != nil || more || len(list) != 1 || list[0].ID != g.ID {
			t.Fatalf("%v %v %v", list, more, err)
		}
		if _, err := s.File(ctx, "other", c.ID, f.ID); kindOf(err) != ragd.ENOTFOUND {
			t.Errorf("other workspace: %v", err)
		}
		if err := s.DeleteFile(ctx, c.Workspace, c.ID, g.ID, storetest.At); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		if err := s.DeleteFile(ctx, "other", c.ID, f.ID, storetest.At); kindOf(err) != ragd.ENOTFOUND {
			t.Fatalf("delete from another workspace: %v", err)
		}
		if err := s.DeleteFile(ctx, c.Workspace, c.ID, f.ID, storetest.At); err != nil {
			t.Fatal(err)
		}
		if n := hits(t, s, c, "zebra"); n != 0 {
			t.Fatalf("%d chunks left", n)
		}
		col, _ := s.Collection(ctx, c.Workspace, c.ID)
		if col.FileCount != 0 || col.ItemCount != 0 || col.ChunkCount != 0 || col.Bytes != 0 {
			t.Fatalf("collection %+v", col)
		}
		if ok, err := s.HasFile(ctx, f.ID); ok || err != nil {
			t.Fatalf("HasFile %v %v", ok, err)
		}
	})
}

func TestJobFailRequeueAndDelete(t *testing.T) {
	ctx := context.Background()
	s := storetest.MustOpen(t)
	c := mustCollection(t, s, "ws", "docs")
	items := func() int {
		list, _, err := s.Items(ctx, c.Workspace, c.ID, ragd.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}

	t.Run("Fail", func(t *testing.T) {
		f := newFile(t, s, c, "fail")
		job := claim(t, s, f)
		stage(t, s, job, "doomed text")
		if err := s.FailJob(ctx, job, ragd.FileError{Code: "corrupt_pdf", Message: "broken"}, storetest.At); err != nil {
			t.Fatal(err)
		}
		got, _ := s.File(ctx, c.Workspace, c.ID, f.ID)
		if got.Status != ragd.FileFailed || got.Error == nil || got.Error.Code != "corrupt_pdf" || got.Chunks != 0 || items() != 0 {
			t.Fatalf("failed file %+v", got)
		}
	})
	t.Run("RequeueRunning", func(t *testing.T) {
		f := newFile(t, s, c, "crash")
		job := claim(t, s, f)
		stage(t, s, job, "half done", "and more")
		n, err := s.RequeueRunningJobs(ctx)
		if err != nil || n != 1 || items() != 0 {
			t.Fatalf("requeued %d, %v, %d items left", n, err, items())
		}
		again := claim(t, s, f)
		if again.Attempts != 2 {
			t.Errorf("attempts %d", again.Attempts)
		}
		stage(t, s, again, "whole")
		if _, err := s.PublishFile(ctx, again, 0, nil, storetest.At); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.File(ctx, c.Workspace, c.ID, f.ID); got.Chunks != 1 || items() != 1 {
			t.Fatalf("after requeue %+v", got)
		}
	})
	t.Run("DeleteWhileRunning", func(t *testing.T) {
		f := newFile(t, s, c, "deleted")
		job := claim(t, s, f)
		stage(t, s, job, "soon gone")
		if err := s.DeleteFile(ctx, c.Workspace, c.ID, f.ID, storetest.At); err != nil {
			t.Fatal(err)
		}
		var e *ragd.Error
		err := s.StageChunks(ctx, job, []*store.StagedItem{{NewItem: newItem(t, "late", nil)}})
		if !errorsAs(err, &e) || e.Code != "file_deleted" {
			t.Fatalf("staging for a deleted file: %v", err)
		}
		if _, err := s.PublishFile(ctx, job, 0, nil, storetest.At); !errorsAs(err, &e) || e.Code != "file_deleted" {
			t.Fatalf("publishing a deleted file: %v", err)
		}
		if err := s.FailJob(ctx, job, ragd.FileError{Code: "x"}, storetest.At); err != nil {
			t.Fatal(err)
		}
		if items() != 1 {
			t.Fatalf("%d items", items())
		}
	})
}

// Jobs are claimed fairly across workspaces: workspace b's file is
// claimed before the rest of a's earlier backlog, and a claim for idle
// workspaces skips every workspace with a running job.
func TestClaimJobFairness(t *testing.T) {
	ctx := context.Background()
	s := storetest.MustOpen(t)
	a := mustCollection(t, s, "a", "docs")
	b := mustCollection(t, s, "b", "docs")
	a1, a2, a3 := newFile(t, s, a, "a1"), newFile(t, s, a, "a2"), newFile(t, s, a, "a3")
	b1 := newFile(t, s, b, "b1")
	var b2 *ragd.File
	jobs := map[string]*store.Job{}
	for _, step := range []struct {
		name     string
		before   func()
		idleOnly bool
		want     **ragd.File // nil: no job
	}{
		{name: "OldestFirst", want: &a1},
		{name: "IdleWorkspaceBeforeBacklog", want: &b1},
		{name: "IdleOnlyWithEveryWorkspaceBusy", idleOnly: true},
		{name: "BacklogWhenOthersAreServed", want: &a2},
		{name: "IdleOnlyAfterWorkspaceFinished", idleOnly: true, want: &b2, before: func() {
			if err := s.FailJob(ctx, jobs[b1.ID], ragd.FileError{Code: "x"}, storetest.At); err != nil {
				t.Fatal(err)
			}
			b2 = newFile(t, s, b, "b2")
		}},
		{name: "BacklogGoesOn", want: &a3},
		{name: "NothingLeft"},
	} {
		t.Run(step.name, func(t *testing.T) {
			if step.before != nil {
				step.before()
			}
			job, err := s.ClaimJob(ctx, step.idleOnly)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case step.want == nil && job != nil:
				t.Fatalf("claimed %s of %s, want none", job.File.Filename, job.Workspace)
			case step.want != nil && (job == nil || job.File.ID != (*step.want).ID):
				t.Fatalf("claimed %+v, want %s", job, (*step.want).Filename)
			}
			if job != nil {
				jobs[job.File.ID] = job
			}
		})
	}
}

// BenchmarkClaimJob measures a fair claim (then gives the job back) with
// 10,000 queued jobs in 10 workspaces and one running job per workspace.
func BenchmarkClaimJob(b *testing.B) {
	ctx := context.Background()
	s := storetest.MustOpen(b)
	var cols []*ragd.Collection
	for w := range 10 {
		cols = append(cols, mustCollection(b, s, fmt.Sprintf("ws%d", w), "docs"))
	}
	for i := range 10000 {
		c := cols[i%len(cols)]
		if _, _, err := s.CreateFile(ctx, c.Workspace, c.ID, &ragd.File{ID: ragd.NewID("file"), Created: storetest.At, Filename: "f.txt",
			SHA256: fmt.Sprint(i), Chunking: c.Chunking}); err != nil {
			b.Fatal(err)
		}
	}
	for range cols {
		if job, err := s.ClaimJob(ctx, false); err != nil || job == nil {
			b.Fatal(job, err)
		}
	}
	var claiming time.Duration
	for b.Loop() {
		start := time.Now()
		job, err := s.ClaimJob(ctx, false)
		claiming += time.Since(start)
		if err != nil || job == nil {
			b.Fatal(job, err)
		}
		if err := s.RequeueJob(ctx, job.ID); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(claiming.Microseconds())/1000/float64(b.N), "claim-ms")
}
