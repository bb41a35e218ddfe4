package service

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/vecmath"
)

// Memory of end users (x-user-id, seed 003): a chat or RAG request that
// names its end user gets what ragd remembers of that user's earlier
// questions and answers, the ones relevant to the new question, in a
// system message; the question and its answer are remembered in turn.
// Memories are read by (workspace, user) only, so one user's never reach
// another user's prompt, nor another workspace's.

const (
	// MaxUserIDBytes is the longest x-user-id.
	MaxUserIDBytes = 128
	// recallCount is how many memories at most go into a prompt.
	recallCount = 5
	// recallTokens bounds the memories' share of the prompt, in tokens.
	recallTokens = 1000
	// minRecallScore is the least similarity of a recalled memory to the
	// question: below it, a memory is about something else.
	minRecallScore = 0.2
	// maxMemoryBytes is the longest text one memory keeps.
	maxMemoryBytes = 4096
)

// ValidateUserID checks an end user's ID (x-user-id): 1 to MaxUserIDBytes
// bytes of printable text.
func ValidateUserID(param, user string) error {
	if user == "" || len(user) > MaxUserIDBytes {
		return ragd.Invalid(param, "%s must have 1 to %d bytes, got %d", param, MaxUserIDBytes, len(user))
	}
	return ragd.ValidateText(param, user, false)
}

// Turn is one question of an end user, to remember with its answer.
type Turn struct {
	// User is the end user's ID; "" remembers nothing.
	User     string
	Question string
}

// recall returns the system message of what ragd remembers of turn's
// user relevant to turn's question, "" when nothing is.
func (s *Service) recall(ctx context.Context, ws string, turn Turn) (string, error) {
	if turn.User == "" || strings.TrimSpace(turn.Question) == "" {
		return "", nil
	}
	found, err := s.SearchMemories(ctx, ws, turn.User, turn.Question, recallCount)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	used := 0
	for _, m := range found {
		if m.Score < minRecallScore {
			break
		}
		if used += CountTokens(m.Content); used > recallTokens {
			break
		}
		if b.Len() == 0 {
			b.WriteString("What you remember of this user from earlier conversations:\n")
		}
		b.WriteString("- ")
		if m.Role == "user" {
			b.WriteString("The user said: ")
		} else {
			b.WriteString("You answered: ")
		}
		b.WriteString(strings.Join(strings.Fields(m.Content), " "))
		b.WriteString("\n")
	}
	return b.String(), nil
}

// remember stores turn's question and answer as memories of its user.
func (s *Service) remember(ctx context.Context, ws string, turn Turn, answer string) error {
	if turn.User == "" {
		return nil
	}
	var texts, roles []string
	// The question first, as it was said first.
	for _, m := range [][2]string{{"user", turn.Question}, {"assistant", answer}} {
		if text := strings.TrimSpace(m[1]); text != "" {
			texts, roles = append(texts, truncateText(text, maxMemoryBytes)), append(roles, m[0])
		}
	}
	if len(texts) == 0 {
		return nil
	}
	emb := s.embedders.Default()
	vecs, err := emb.Embed(ctx, texts)
	if err != nil {
		return err
	}
	now := s.now().Unix()
	memories := make([]ragd.Memory, len(texts))
	for i := range texts {
		memories[i] = ragd.Memory{ID: ragd.NewID("mem"), Workspace: ws, UserID: turn.User, Role: roles[i], Content: texts[i],
			Created: now, Model: emb.Name(), Vector: vecs[i]}
	}
	return s.write.AddMemories(ctx, memories)
}

// truncateText cuts s to at most n bytes at a character boundary.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Memories returns what ragd remembers of user of workspace ws, oldest
// first; a user it remembers nothing of is ENOTFOUND.
func (s *Service) Memories(ctx context.Context, ws, user string) ([]ragd.Memory, error) {
	if err := ValidateUserID("user_id", user); err != nil {
		return nil, err
	}
	m, err := s.store.Memories(ctx, ws, user)
	if err == nil && len(m) == 0 {
		err = ragd.NotFound("user", user)
	}
	for i := range m {
		m[i].Vector = nil
	}
	return m, err
}

// SearchMemories returns the k memories of user of workspace ws most
// similar to query (cosine of the default embedding model's vectors),
// best first, each with its Score.
func (s *Service) SearchMemories(ctx context.Context, ws, user, query string, k int) ([]ragd.Memory, error) {
	if err := ValidateUserID("user_id", user); err != nil {
		return nil, err
	}
	if strings.TrimSpace(query) == "" {
		return nil, ragd.Invalid("query", "query is required: the text to search the memories for")
	}
	if k < 1 || k > ragd.MaxTopK {
		return nil, ragd.Invalid("top_k", "top_k must be between 1 and %d, got %d", ragd.MaxTopK, k)
	}
	all, err := s.store.Memories(ctx, ws, user)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	emb := s.embedders.Default()
	vecs, err := emb.Embed(ctx, []string{query})
	if err != nil {
		return nil, err
	}
	q := vecs[0]
	var out []ragd.Memory
	for _, m := range all {
		if m.Model != emb.Name() || len(m.Vector) != len(q) {
			continue // remembered under another default model
		}
		m.Score = vecmath.Cosine(q, m.Vector)
		out = append(out, m)
	}
	// Best first; the newer of two equal memories first.
	slices.SortStableFunc(out, func(a, b ragd.Memory) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return int(b.Created - a.Created)
	})
	if len(out) > k {
		out = out[:k]
	}
	for i := range out {
		out[i].Vector = nil
	}
	return out, nil
}

// ForgetMemories deletes memory id of user of workspace ws, or with an
// empty id everything ragd remembers of the user (the right to be
// forgotten), and returns how many memories it deleted.
func (s *Service) ForgetMemories(ctx context.Context, ws, user, id string) (int, error) {
	if err := ValidateUserID("user_id", user); err != nil {
		return 0, err
	}
	return s.write.DeleteMemories(ctx, ws, user, id)
}
