package service

import (
	"context"
	"fmt"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/retry"
	"github.com/ragd/ragd/media"
)

// MediaModels returns the media models and their providers, for the
// audio model and voice lists.
func (s *Service) MediaModels() *media.Router { return s.media }

// Speech turns text into audio with the speech model a JSON request
// names (media.Router.Speech).
func (s *Service) Speech(ctx context.Context, body []byte) (*media.Output, error) {
	return s.media.Speech(ctx, body)
}

// Transcribe turns audio into text with a transcription model
// (media.Router.Transcribe).
func (s *Service) Transcribe(ctx context.Context, req *media.TranscriptionRequest) (*media.Output, error) {
	return s.media.Transcribe(ctx, req)
}

// Generate makes an image or a piece of music with the model a JSON
// request names (media.Router.Generate).
func (s *Service) Generate(ctx context.Context, kind media.Kind, body []byte) (*media.Output, error) {
	return s.media.Generate(ctx, kind, body)
}

// CreateVideoJob starts a video generation for workspace ws and stores
// its job, so that it can be polled, also after a restart.
func (s *Service) CreateVideoJob(ctx context.Context, ws string, body []byte) (*ragd.VideoJob, error) {
	st, err := s.media.CreateVideo(ctx, body)
	if err != nil {
		return nil, err
	}
	now := s.now().Unix()
	j := &ragd.VideoJob{ID: ragd.NewID("vidjob"), Workspace: ws, Model: st.Model, Provider: st.Provider,
		UpstreamID: st.UpstreamID, Status: st.Status, Created: now, Updated: now, Record: st.Record}
	if err := s.write.CreateVideoJob(ctx, j); err != nil {
		return nil, err
	}
	return j, nil
}

// VideoJob returns video job id of workspace ws (ENOTFOUND for another
// workspace's). A job not yet done is asked about at its provider first
// and its new state stored; a finished one is answered from the store.
func (s *Service) VideoJob(ctx context.Context, ws, id string) (*ragd.VideoJob, error) {
	j, err := s.store.VideoJob(ctx, ws, id)
	if err != nil || j.Done() {
		return j, err
	}
	st, err := s.media.PollVideo(ctx, j.Model, j.UpstreamID)
	if err != nil {
		return nil, err
	}
	j.Status, j.Record, j.Updated = st.Status, st.Record, s.now().Unix()
	if err := s.write.UpdateVideoJob(ctx, ws, id, j.Status, j.Record, j.Updated); err != nil {
		return nil, err
	}
	return j, nil
}

// MaxVideoWait bounds how long GenerateVideo waits for a job, as the
// server's default write timeout does.
const MaxVideoWait = 10 * time.Minute

// GenerateVideo starts a video job and waits, polling every interval,
// until it is done, for clients of the synchronous route of seed 003. A
// job that fails is EUNPROCESSABLE (code video_failed) naming the job;
// one still running after MaxVideoWait is ETIMEOUT, and stays pollable.
func (s *Service) GenerateVideo(ctx context.Context, ws string, body []byte, interval time.Duration) (*ragd.VideoJob, error) {
	j, err := s.CreateVideoJob(ctx, ws, body)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, MaxVideoWait)
	defer cancel()
	for !j.Done() {
		if err := retry.Sleep(wctx, interval); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &ragd.Error{Kind: ragd.ETIMEOUT, Message: fmt.Sprintf(
				"video job %s did not finish within %s; poll GET /v1/videos/generations/%s", j.ID, MaxVideoWait, j.ID)}
		}
		if j, err = s.VideoJob(ctx, ws, j.ID); err != nil {
			return nil, err
		}
	}
	if j.Status == ragd.VideoFailed {
		return nil, &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "video_failed", Message: fmt.Sprintf(
			"video job %s failed; GET /v1/videos/generations/%s shows the provider's answer", j.ID, j.ID)}
	}
	return j, nil
}
