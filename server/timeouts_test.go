package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd/rag"
	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/service"
)

// openServer starts the server of s on 127.0.0.1:0 through Open, as ragd
// serve does, and returns it with an admin key.
func openServer(t *testing.T, s setup) (*server.Server, string) {
	t.Helper()
	s.open = true
	ts := serve(t, s)
	return ts.srv, ts.admin
}

// closeWait is how long a test waits for the server to close a
// connection whose timeout, a fraction of a second, has passed: far more
// than the timeouts under test, less than the defaults.
const closeWait = 5 * time.Second

// waitClosed reads conn until the server closes it, and fails if it is
// still open after closeWait.
func waitClosed(t *testing.T, conn net.Conn) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(closeWait))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %s", closeWait)
	}
}

func dial(t *testing.T, srv *server.Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestConnectionTimeouts(t *testing.T) {
	srv, admin := openServer(t, setup{cfg: server.Config{Timeouts: server.Timeouts{ReadHeader: 200 * time.Millisecond,
		Read: 400 * time.Millisecond, Write: time.Minute, Idle: 300 * time.Millisecond}}})
	t.Run("SlowHeaders", func(t *testing.T) {
		conn := dial(t, srv)
		fmt.Fprint(conn, "GET /healthz HTTP/1.1\r\nHost: ragd\r\n")
		waitClosed(t, conn)
	})
	t.Run("SlowBody", func(t *testing.T) {
		conn := dial(t, srv)
		fmt.Fprintf(conn, "POST /v1/vector_store HTTP/1.1\r\nHost: ragd\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\": ", admin)
		waitClosed(t, conn)
	})
	t.Run("IdleKeepAlive", func(t *testing.T) {
		conn := dial(t, srv)
		fmt.Fprint(conn, "GET /healthz HTTP/1.1\r\nHost: ragd\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("status %d, close %v: want a kept-alive 200", resp.StatusCode, resp.Close)
		}
		waitClosed(t, conn)
	})
}

// TestWriteTimeoutSparesStreams checks that a chat stream outlives the
// write timeout while a plain answer does not. The fake upstream holds
// both until the test lets go, which it does once a connection opened
// after them has been closed for taking longer than the same timeout.
func TestWriteTimeoutSparesStreams(t *testing.T) {
	release := make(chan struct{})
	held := make(chan struct{}, 1) // the plain request reached the upstream
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer up-key" {
			http.Error(w, `{"error":{"message":"wrong path or key"}}`, 404)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), `"stream":true`) {
			held <- struct{}{}
			<-release
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"up-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"late"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := `data: {"id":"up-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":%q},"finish_reason":null}]}` + "\n\n"
		fmt.Fprintf(w, chunk, "before the deadline,")
		w.(http.Flusher).Flush()
		<-release
		fmt.Fprintf(w, chunk, " after it.")
		fmt.Fprint(w, `data: {"id":"up-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n")
	}))
	defer up.Close()
	router, err := rag.NewRouter(rag.Config{Providers: []rag.ProviderConfig{{Name: "up", BaseURL: up.URL + "/v1", APIKey: "up-key",
		Models: []rag.ModelConfig{{ID: "m"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	const timeout = 300 * time.Millisecond
	srv, admin := openServer(t, setup{svc: service.Config{Chat: router}, cfg: server.Config{Timeouts: server.Timeouts{ReadHeader: timeout, Write: timeout}}})
	chat := func(stream bool) (*http.Response, error) {
		req, _ := http.NewRequest("POST", srv.URL()+"/v1/chat/completions", strings.NewReader(
			fmt.Sprintf(`{"model": "m", "stream": %v, "messages": [{"role": "user", "content": "hi"}]}`, stream)))
		req.Header.Set("Authorization", "Bearer "+admin)
		return http.DefaultClient.Do(req)
	}
	stream, err := chat(true)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	events := bufio.NewReader(stream.Body)
	if first, err := events.ReadString('\n'); err != nil || !strings.Contains(first, "before the deadline") {
		t.Fatalf("first event %q: %v", first, err)
	}
	plain := make(chan error, 1)
	go func() {
		resp, err := chat(false)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		plain <- err
	}()
	// Opened after both requests, closed after the same timeout: once it
	// is closed, both requests have run longer than the write timeout.
	// The plain request must be held first: ragd read its headers, and
	// started its write timeout, before it asked the upstream.
	select {
	case <-held:
	case err := <-plain:
		t.Fatalf("the plain request ended before the upstream held it: %v", err)
	}
	witness := dial(t, srv)
	fmt.Fprint(witness, "GET /healthz HTTP/1.1\r\nHost: ragd\r\n")
	waitClosed(t, witness)
	close(release)
	rest, err := io.ReadAll(events)
	if err != nil || !strings.Contains(string(rest), "after it.") || !strings.HasSuffix(strings.TrimSpace(string(rest)), "data: [DONE]") {
		t.Fatalf("the stream after the write timeout: %q, %v", rest, err)
	}
	if err := <-plain; err == nil || strings.HasPrefix(err.Error(), "status") {
		t.Fatalf("a plain answer past the write timeout was delivered: %v", err)
	}
}
