package service

import (
	"context"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/rag"
)

// ChatModels returns the chat models and their providers, for /v1/models,
// health checks and token counting.
func (s *Service) ChatModels() *rag.Router { return s.chat }

// Chat answers a chat request with the configured chat models: the whole
// result, or for a streaming request the stream to relay.
func (s *Service) Chat(ctx context.Context, req *rag.ChatRequest) (*rag.Result, *rag.ChatStream, error) {
	if req.IsStream() {
		st, err := s.chat.Stream(ctx, req)
		return nil, st, err
	}
	res, err := s.chat.Complete(ctx, req)
	return res, nil, err
}

// RAG answers req from the passages it retrieves from the collections of
// workspace ws, citing them: the whole result, or for a streaming request
// the stream to relay. count receives the embedding tokens each retrieval
// used.
func (s *Service) RAG(ctx context.Context, ws string, req *rag.RAGRequest, count func(tokens int)) (*rag.Result, *rag.ChatStream, error) {
	engine := rag.NewEngine(s.chat, retriever{s: s, ws: ws, count: count})
	if req.IsStream() {
		st, err := engine.Stream(ctx, req)
		return nil, st, err
	}
	res, err := engine.Complete(ctx, req)
	return res, nil, err
}

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
