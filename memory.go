package ragd

// Memory is one thing ragd remembers of an end user (the x-user-id of a
// chat request) of a workspace: a question they asked or an answer they
// got. Memories of one user are recalled into that user's later prompts
// only, and never leave their workspace.
type Memory struct {
	ID        string  `json:"id"`
	Workspace string  `json:"-"`
	UserID    string  `json:"user_id"`
	Role      string  `json:"role"`
	Content   string  `json:"content"`
	Created   int64   `json:"created"`
	Score     float64 `json:"score,omitempty"`
	// Model names the embedding model of Vector.
	Model  string    `json:"-"`
	Vector []float32 `json:"-"`
}
