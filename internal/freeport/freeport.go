// Package freeport hands out loopback addresses for servers that must
// know each other's ports before any of them starts: a cluster's nodes
// name their peers' route ports on their command lines.
//
// The usual trick (listen on port 0, note the port, close) picks from
// the kernel's ephemeral range, which every connect() and every other
// listen on port 0 draws from too: on a busy machine another test's
// connection can take the port before its server binds it, and the
// server then never starts. The ports here come from below that range,
// where the kernel never hands out a port by itself, so only another
// explicit bind can take one. None is handed out twice by one process;
// two processes (test binaries run in parallel) pick at random among
// some 20,000 ports and check each is free, so they collide only if
// both pick the same port within the moment before its server binds it.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// lowest is the lowest port handed out: below it live the well-known and
// registered services a machine may run.
const lowest = 10000

var (
	mu sync.Mutex
	// given are the ports this process handed out, never handed out
	// again.
	given = map[int]bool{}
)

// Addr returns "127.0.0.1:PORT" for a port that was free a moment ago,
// outside the kernel's ephemeral range and not returned before by this
// process. Where the range leaves no room below it, it falls back to a
// port the kernel picks.
func Addr() (string, error) {
	top := ephemeralLow()
	if top-lowest < 1000 {
		return kernelPick()
	}
	mu.Lock()
	defer mu.Unlock()
	for range 200 {
		port := lowest + rand.IntN(top-lowest)
		if given[port] {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		l.Close()
		given[port] = true
		return addr, nil
	}
	return "", fmt.Errorf("freeport: no free port found between %d and %d", lowest, top)
}

// ephemeralLow is the first port of the kernel's ephemeral range, or
// Linux's default where the range cannot be read (ragd's tests run on
// Linux).
func ephemeralLow() int {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if low, err := strconv.Atoi(f[0]); err == nil {
				return low
			}
		}
	}
	return 32768
}

// kernelPick is the usual trick, for machines whose ephemeral range
// starts too low to leave room below it.
func kernelPick() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
