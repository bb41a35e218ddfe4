package cluster

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// SetMaxInline sets the largest op n logs inline; larger ones go through
// the op-data object store, by reference.
func SetMaxInline(n *Node, size int) { n.maxInline = size }

// OpData counts the data of ops carried by reference that n's cluster
// keeps.
func OpData(t testing.TB, n *Node) int {
	infos, err := n.objs.List(context.Background())
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, info := range infos {
		if !info.Deleted {
			count++
		}
	}
	return count
}
