// Package pipenet runs a real net/http server and client over in-process
// net.Pipe connections, so that tests of timeouts can run inside a
// testing/synctest bubble on its fake clock. A goroutine blocked on a
// loopback socket waits in the kernel, where the bubble cannot see it: the
// fake clock would never advance, and the real clock makes a 50 ms
// timeout fire before a slow machine has even sent the request. net.Pipe
// blocks on channels, which the bubble sees.
package pipenet

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Listener is a net.Listener whose connections come from its DialContext.
type Listener struct {
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

var _ net.Listener = (*Listener)(nil)

// Listen returns a Listener; call Close when done.
func Listen() *Listener {
	return &Listener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept waits for the next DialContext, or returns net.ErrClosed after Close.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close makes Accept and DialContext fail; open connections stay open.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

// Addr is a placeholder: every address dials this listener.
func (l *Listener) Addr() net.Addr { return pipeAddr{} }

// DialContext connects to the listener whatever network and address it is
// given; it has the signature of http.Transport.DialContext.
func (l *Listener) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe.invalid" }

// NewServer starts an httptest.Server for h on a Listener. Its Client()
// is the only client that reaches it; Close closes that client's idle
// connections, so that a synctest bubble can end.
func NewServer(h http.Handler) *httptest.Server {
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close() // the loopback listener it opened
	l := Listen()
	s.Listener = l
	s.Start()
	s.Client().Transport.(*http.Transport).DialContext = l.DialContext
	return s
}
