package service

import (
	"context"

	"github.com/ragd/ragd"
)

// SaveCompletion stores a chat completion's record so that it can be
// fetched and voted on.
func (s *Service) SaveCompletion(ctx context.Context, ws string, c *ragd.StoredCompletion) error {
	return s.write.SaveCompletion(ctx, ws, c)
}

// Completion returns completion id of workspace ws, or ENOTFOUND.
func (s *Service) Completion(ctx context.Context, ws, id string) (*ragd.StoredCompletion, error) {
	return s.store.Completion(ctx, ws, id)
}

// VoteCompletion records vote, "up" or "down", on completion id.
func (s *Service) VoteCompletion(ctx context.Context, ws, id, vote string) error {
	if vote != "up" && vote != "down" {
		return ragd.Invalid("vote", `vote must be "up" or "down", got %q`, vote)
	}
	return s.write.VoteCompletion(ctx, ws, id, vote, s.now().Unix())
}
