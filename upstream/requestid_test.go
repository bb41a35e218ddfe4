package upstream

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestPostForwardsRequestID checks that a provider receives the client's
// request id from the context, and no header when there is none.
func TestPostForwardsRequestID(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("X-Request-Id")
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	c := New("test provider", srv.URL, "", 5*time.Second, 0, nil)
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"Forwarded", WithRequestID(context.Background(), "req-123"), "req-123"},
		{"None", context.Background(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.Post(tc.ctx, []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
			if id := <-got; id != tc.want {
				t.Fatalf("X-Request-Id %q, want %q", id, tc.want)
			}
		})
	}
}
