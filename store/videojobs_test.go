package store_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/storetest"
)

func TestVideoJobs(t *testing.T) {
	ctx := context.Background()
	s := storetest.MustOpen(t)
	j := &ragd.VideoJob{ID: "vidjob_1", Workspace: "acme", Model: "veo", Provider: "fake", UpstreamID: "up-1",
		Status: ragd.VideoQueued, Created: storetest.At, Record: json.RawMessage(`{"id":"up-1","status":"queued"}`)}
	if err := s.CreateVideoJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	record := json.RawMessage(`{"id":"up-1","status":"succeeded"}`)
	if err := s.UpdateVideoJob(ctx, "acme", j.ID, ragd.VideoCompleted, record, storetest.At+5); err != nil {
		t.Fatal(err)
	}
	got, err := s.VideoJob(ctx, "acme", j.ID)
	if err != nil || got.Status != ragd.VideoCompleted || string(got.Record) != string(record) || got.Updated != storetest.At+5 ||
		got.Created != storetest.At || got.UpstreamID != "up-1" || got.Model != "veo" || got.Provider != "fake" || !got.Done() {
		t.Fatalf("VideoJob: %+v, %v", got, err)
	}
	for _, tc := range []struct {
		name string
		err  error
		kind string
	}{
		{"ErrOtherWorkspace", func() error { _, err := s.VideoJob(ctx, "other", j.ID); return err }(), ragd.ENOTFOUND},
		{"ErrUpdateOtherWorkspace", s.UpdateVideoJob(ctx, "other", j.ID, ragd.VideoFailed, record, storetest.At+6), ragd.ENOTFOUND},
		{"ErrNoID", s.CreateVideoJob(ctx, &ragd.VideoJob{Workspace: "acme", Created: storetest.At}), ragd.EINTERNAL},
		{"ErrNoTime", s.UpdateVideoJob(ctx, "acme", j.ID, ragd.VideoFailed, record, 0), ragd.EINTERNAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ragd.ErrorKind(tc.err) != tc.kind || tc.err == nil {
				t.Fatalf("%v, want kind %s", tc.err, tc.kind)
			}
		})
	}
}
