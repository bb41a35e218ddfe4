package media

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/upstream"
)

// VideoStatus is a provider's answer about a video job.
type VideoStatus struct {
	// Model is the video model (the client's name for it) and Provider
	// the name of the provider running the job.
	Model, Provider string
	// UpstreamID is the provider's id of the job.
	UpstreamID string
	// Status is one of ragd's video statuses (ragd.VideoQueued, ...).
	Status string
	// Record is the provider's answer, a JSON object.
	Record json.RawMessage
}

// videoStatuses maps the words providers use for a job's state to ragd's
// four; any other word means the job is running.
var videoStatuses = map[string]string{
	"queued": ragd.VideoQueued, "pending": ragd.VideoQueued, "submitted": ragd.VideoQueued, "starting": ragd.VideoQueued,
	"completed": ragd.VideoCompleted, "succeeded": ragd.VideoCompleted, "success": ragd.VideoCompleted, "done": ragd.VideoCompleted,
	"failed": ragd.VideoFailed, "error": ragd.VideoFailed, "cancelled": ragd.VideoFailed, "canceled": ragd.VideoFailed,
	"expired": ragd.VideoFailed,
}

// CreateVideo starts a video generation, {"model", "prompt"} plus the
// provider's options, with POST {base_url}/videos/generations, and returns
// the provider's job: its id (the answer's job_id, else id) and status.
// It returns the errors of Generate, and EUNAVAILABLE (code
// upstream_bad_response) when the answer names no job.
func (r *Router) CreateVideo(ctx context.Context, data []byte) (*VideoStatus, error) {
	rt, payload, err := r.generation(Video, data)
	if err != nil {
		return nil, err
	}
	out, err := rt.call(ctx, upstream.Request{Body: payload}, "")
	if err != nil {
		return nil, err
	}
	return rt.videoStatus(out.Body, "")
}

// PollVideo asks the provider of video model model about its job
// upstreamID, with GET {base_url}/videos/generations/{upstreamID}. It
// returns the errors of the provider, and EUNAVAILABLE when model is no
// longer configured or the answer is not a JSON object.
func (r *Router) PollVideo(ctx context.Context, model, upstreamID string) (*VideoStatus, error) {
	rt, err := r.find(Video, model)
	if err != nil {
		return nil, &ragd.Error{Kind: ragd.EUNAVAILABLE, Code: CodeUnavailable(Video), Err: err,
			Message: fmt.Sprintf("video model %q of this job is no longer configured; add it back to poll the job", model)}
	}
	out, err := rt.call(ctx, upstream.Request{Method: http.MethodGet}, "/"+url.PathEscape(upstreamID))
	if err != nil {
		return nil, err
	}
	return rt.videoStatus(out.Body, upstreamID)
}

// videoStatus reads a provider's answer about a job; known is the job's
// id when the caller has it already.
func (rt *route) videoStatus(body []byte, known string) (*VideoStatus, error) {
	var job struct {
		JobID  string `json:"job_id"`
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, rt.client.BadResponse("the video job is not a JSON object", err)
	}
	if err := json.Unmarshal(body, &job); err != nil {
		return nil, rt.client.BadResponse("the video job's job_id, id or status is not a string", err)
	}
	id := known
	if id == "" {
		id = job.JobID
	}
	if id == "" {
		id = job.ID
	}
	if id == "" {
		return nil, rt.client.BadResponse("the video job has no job_id or id", nil)
	}
	status, ok := videoStatuses[strings.ToLower(job.Status)]
	if !ok {
		status = ragd.VideoInProgress
	}
	return &VideoStatus{Model: rt.ID, Provider: rt.Provider, UpstreamID: id, Status: status, Record: body}, nil
}
