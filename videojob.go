package ragd

import "encoding/json"

// Video job statuses: an upstream's own words are mapped to these four.
const (
	VideoQueued     = "queued"
	VideoInProgress = "in_progress"
	VideoCompleted  = "completed"
	VideoFailed     = "failed"
)

// VideoJob is an asynchronous video generation: ragd's job, the upstream
// job it stands for, and the upstream's last answer about it. It is stored
// so that a client can poll it after ragd restarts.
type VideoJob struct {
	// ID is ragd's job id, the one clients poll.
	ID string
	// Workspace owns the job; other workspaces cannot see it.
	Workspace string
	// Model is the video model the client asked for.
	Model string
	// Provider is the name of the provider running the job.
	Provider string
	// UpstreamID is the provider's id of the job.
	UpstreamID string
	// Status is VideoQueued, VideoInProgress, VideoCompleted or
	// VideoFailed.
	Status string
	// Created and Updated are Unix seconds: when the job was created and
	// when its status was last read from the provider.
	Created, Updated int64
	// Record is the provider's last answer about the job, a JSON object.
	Record json.RawMessage
}

// Done reports whether the job has finished, well or not: its status
// changes no more.
func (j *VideoJob) Done() bool { return j.Status == VideoCompleted || j.Status == VideoFailed }
