package server_test

import (
	"strings"
	"testing"
)

// chatAs sends a chat request of the end user user (x-user-id; "" for
// none) to path and returns the reply.
func (ts *testServer) chatAs(t *testing.T, path, key, user string, body map[string]any) response {
	t.Helper()
	if user != "" {
		return ts.postWith(t, path, key, body, "X-User-Id", user)
	}
	return ts.postWith(t, path, key, body)
}

func ask(model, text string) map[string]any {
	return map[string]any{"model": model, "messages": []any{map[string]any{"role": "user", "content": text}}}
}

// promptText returns the text of every message of an upstream request.
func promptText(req map[string]any) string {
	var b strings.Builder
	for _, m := range list(req["messages"]) {
		b.WriteString(str(obj(m)["content"]))
		b.WriteString("\n")
	}
	return b.String()
}

// TestMemoryIsolation checks, in the prompts the provider receives, that
// what one end user said comes back into that user's later prompts only:
// not into another user's, nor into the same user ID's of another
// workspace; and that the user is named to the provider.
func TestMemoryIsolation(t *testing.T) {
	up := newUpstream(t)
	ts := newChatServer(t, up)
	other := ts.key(t, "other", true)
	const fact = "My favorite coffee is an Oat Milk Latte."
	ts.chatAs(t, "/v1/chat/completions", ts.admin, "alice", ask("gpt-4o-mini", fact)).must(t, 200)
	for _, c := range []struct {
		name, key, user string
		want            bool
	}{
		{"SameUser", ts.admin, "alice", true},
		{"OtherUser", ts.admin, "bob", false},
		{"NoUser", ts.admin, "", false},
		{"OtherWorkspace", other, "alice", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts.chatAs(t, "/v1/chat/completions", c.key, c.user, ask("gpt-4o-mini", "Which coffee is my favorite?")).must(t, 200)
			up.mu.Lock()
			req, h := up.requests[len(up.requests)-1], up.headers[len(up.headers)-1]
			up.mu.Unlock()
			if got := strings.Contains(promptText(req), "Oat Milk Latte"); got != c.want {
				t.Errorf("the fact in the prompt: %v, want %v:\n%s", got, c.want, promptText(req))
			}
			if h.Get("X-User-Id") != c.user {
				t.Errorf("x-user-id upstream %q, want %q", h.Get("X-User-Id"), c.user)
			}
		})
	}
	// The answers were remembered too: the upstream's "The answer is 42".
	mem := list(ts.do(t, "GET", "/v1/users/alice/memories", ts.admin, nil).must(t, 200)["memories"])
	if len(mem) != 4 || obj(mem[0])["role"] != "user" || obj(mem[0])["content"] != fact || obj(mem[1])["role"] != "assistant" {
		t.Errorf("alice's memories %v", mem)
	}
	if got := list(ts.do(t, "GET", "/v1/users/alice/memories", other, nil).must(t, 200)["memories"]); len(got) != 2 {
		t.Errorf("the other workspace's alice remembers %v", got)
	}
}

// TestMemoryOffline: the built-in extractive model answers from what the
// user said earlier, for that user only; forgetting the user removes it.
func TestMemoryOffline(t *testing.T) {
	ts := newTestServer(t)
	ts.chatAs(t, "/v1/chat/completions", ts.admin, "alice", ask("ragd-extractive", "Remember this: my locker code is 4711 and my locker is in hall B.")).must(t, 200)
	answer := func(user string) string {
		b := ts.chatAs(t, "/v1/chat/completions", ts.admin, user, ask("ragd-extractive", "What is my locker code?")).must(t, 200)
		return str(obj(obj(list(b["choices"])[0])["message"])["content"])
	}
	if got := answer("alice"); !strings.Contains(got, "4711") {
		t.Errorf("alice's answer %q lacks her locker code", got)
	}
	if got := answer("bob"); strings.Contains(got, "4711") {
		t.Errorf("bob's answer %q holds alice's locker code", got)
	}
	found := list(ts.do(t, "POST", "/v1/users/alice/memories/search", ts.admin, map[string]any{"query": "locker code hall", "top_k": 2}).must(t, 200)["memories"])
	id := ""
	for i, m := range found {
		if strings.Contains(str(obj(m)["content"]), "4711") && obj(m)["role"] == "user" {
			id = str(obj(m)["id"])
		}
		if i > 0 && obj(m)["score"].(float64) > obj(found[i-1])["score"].(float64) {
			t.Errorf("search results not best first: %v", found)
		}
	}
	if len(found) != 2 || id == "" {
		t.Fatalf("search %v", found)
	}
	// Deleting one memory, then forgetting the user.
	ts.do(t, "DELETE", "/v1/users/alice/memories/"+id, ts.admin, nil).must(t, 200)
	ts.do(t, "DELETE", "/v1/users/alice/memories/"+id, ts.admin, nil).must(t, 404)
	ts.do(t, "DELETE", "/v1/users/alice/memories/"+id, ts.key(t, "other", true), nil).must(t, 404)
	gone := ts.do(t, "DELETE", "/v1/users/alice/memories", ts.admin, nil).must(t, 200)
	if gone["deleted"] == 0.0 {
		t.Errorf("forget %v", gone)
	}
	ts.do(t, "GET", "/v1/users/alice/memories", ts.admin, nil).must(t, 404)
	ts.do(t, "DELETE", "/v1/users/alice/memories", ts.admin, nil).must(t, 404)
	if got := answer("alice"); strings.Contains(got, "4711") {
		t.Errorf("a forgotten user's answer %q holds the code", got)
	}
}

// A streamed answer is remembered once the stream ends, and a RAG answer
// too.
func TestMemoryOfStreamsAndRAG(t *testing.T) {
	ts := newTestServer(t)
	body := ask("ragd-extractive", "My train leaves from platform 9.")
	body["stream"] = true
	r := ts.chatAs(t, "/v1/chat/completions", ts.admin, "carol", body)
	r.must(t, 200)
	col := ts.collection(t, ts.admin, "docs")
	ts.do(t, "POST", "/v1/vector_store/"+col+"/items", ts.admin, map[string]any{"content": "Trains to the airport leave every ten minutes."}).must(t, 201)
	ts.chatAs(t, "/v1/chat/completions/RAG", ts.admin, "carol", map[string]any{"collection": col, "model": "ragd-extractive",
		"messages": []any{map[string]any{"role": "user", "content": "How often do airport trains leave?"}}}).must(t, 200)
	mem := list(ts.do(t, "GET", "/v1/users/carol/memories", ts.admin, nil).must(t, 200)["memories"])
	if len(mem) != 4 || !strings.Contains(str(obj(mem[0])["content"]), "platform 9") || !strings.Contains(str(obj(mem[2])["content"]), "airport") {
		t.Errorf("carol's memories %v", mem)
	}
}

func TestMemoryErrors(t *testing.T) {
	ts := newTestServer(t)
	long := strings.Repeat("u", 129)
	r := ts.chatAs(t, "/v1/chat/completions", ts.admin, long, ask("ragd-extractive", "hi"))
	r.must(t, 400)
	if _, p := r.errCode(); p != "x-user-id" {
		t.Errorf("param %v", p)
	}
	for _, c := range []struct {
		name, method, path string
		body               any
		param              string
	}{
		{"ErrLongUser", "GET", "/v1/users/" + long + "/memories", nil, "user_id"},
		{"ErrNoQuery", "POST", "/v1/users/alice/memories/search", map[string]any{}, "query"},
		{"ErrTopK", "POST", "/v1/users/alice/memories/search", map[string]any{"query": "x", "top_k": 0}, "top_k"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do(t, c.method, c.path, ts.admin, c.body)
			r.must(t, 400)
			if _, p := r.errCode(); p != c.param {
				t.Errorf("param %v, want %s", p, c.param)
			}
		})
	}
}
