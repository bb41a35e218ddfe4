package freeport

import (
	"net"
	"strconv"
	"testing"
)

// TestAddr takes many addresses: each is a loopback port below the
// kernel's ephemeral range, free to listen on, and never the same twice.
func TestAddr(t *testing.T) {
	seen := map[string]bool{}
	top := ephemeralLow()
	for range 100 {
		addr, err := Addr()
		if err != nil {
			t.Fatal(err)
		}
		if seen[addr] {
			t.Fatalf("%s handed out twice", addr)
		}
		seen[addr] = true
		host, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(p)
		if host != "127.0.0.1" || port < lowest || port >= top {
			t.Fatalf("%s: want 127.0.0.1 and a port in [%d, %d)", addr, lowest, top)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("the port handed out is not free: %v", err)
		}
		l.Close()
	}
}
