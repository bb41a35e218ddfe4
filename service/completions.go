package service

import (
	"context"
	"encoding/json"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/rag"
)

// ChatModels returns the chat models and their providers, for /v1/models,
// health checks and token counting.
func (s *Service) ChatModels() *rag.Router { return s.chat }

// withMemory returns req with what ragd remembers of turn's end user,
// relevant to the question, ahead of its messages, and ctx naming the
// user to the providers (x-user-id); a turn of no user changes nothing.
func withMemory[R interface{ WithSystem(string) R }](ctx context.Context, s *Service, ws string, turn Turn, req R) (context.Context, R, error) {
	mem, err := s.recall(ctx, ws, turn)
	if err != nil {
		return ctx, req, err
	}
	if mem != "" {
		req = req.WithSystem(mem)
	}
	return rag.WithEndUser(ctx, turn.User), req, nil
}

// Chat answers a chat request of workspace ws with the configured chat
// models: the whole result, or for a streaming request the stream to
// relay. For a turn of a named end user, what ragd remembers of that
// user relevant to the question comes first in the prompt, and the user
// is named to the provider (x-user-id).
func (s *Service) Chat(ctx context.Context, ws string, turn Turn, req *rag.ChatRequest) (*rag.Result, *rag.ChatStream, error) {
	ctx, req, err := withMemory(ctx, s, ws, turn, req)
	if err != nil {
		return nil, nil, err
	}
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
// used. A turn of a named end user is answered with what ragd remembers
// of the user, as in Chat.
func (s *Service) RAG(ctx context.Context, ws string, turn Turn, req *rag.RAGRequest, count func(Tokens)) (*rag.Result, *rag.ChatStream, error) {
	ctx, req, err := withMemory(ctx, s, ws, turn, req)
	if err != nil {
		return nil, nil, err
	}
	engine := rag.NewEngine(s.chat, retriever{s: s, ws: ws, count: count})
	if req.IsStream() {
		st, err := engine.Stream(ctx, req)
		return nil, st, err
	}
	res, err := engine.Complete(ctx, req)
	return res, nil, err
}

// SaveCompletion stores the record of completion c, the answer of turn,
// so that it can be fetched and voted on, and remembers the turn for its
// end user, if it names one. Failing to remember is logged, not returned:
// the answer stands.
func (s *Service) SaveCompletion(ctx context.Context, ws string, turn Turn, c *rag.Completion) error {
	record, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := s.write.SaveCompletion(ctx, ws, &ragd.StoredCompletion{ID: c.ID, Created: c.Created, Model: c.Model, Record: record}); err != nil {
		return err
	}
	if err := s.remember(ctx, ws, turn, c.Text()); err != nil {
		s.log.Warn("remembering a turn of an end user", "workspace", ws, "err", err)
	}
	return nil
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
