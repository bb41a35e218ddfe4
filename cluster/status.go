package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// reportInterval is how often a node records its applied position in the
// nodes bucket, when it changed.
const reportInterval = time.Second

// Status is a cluster as one node sees it: the log's last sequence, and
// each node's last applied op and lag behind the log.
type Status struct {
	// Node is the node answering.
	Node string `json:"node"`
	// Mode is "embedded" or "external" (an existing NATS cluster).
	Mode string `json:"mode"`
	// Replicas is the stream's replication factor.
	Replicas int `json:"replicas"`
	// Leader is the NATS server leading the stream's Raft group.
	Leader string `json:"leader,omitempty"`
	// Last is the stream sequence of the newest op in the log.
	Last uint64 `json:"last_seq"`
	// First is the oldest op still in the log.
	First uint64 `json:"first_seq"`
	// Nodes lists every node that ever reported, by name.
	Nodes []NodeStatus `json:"nodes"`
}

// NodeStatus is one node's last reported position.
type NodeStatus struct {
	Name string `json:"name"`
	// Applied is the stream sequence of the last op the node applied.
	Applied uint64 `json:"applied_seq"`
	// Lag is how many ops of the log the node had not applied.
	Lag uint64 `json:"lag"`
	// Reported is when the node last reported (Unix seconds); a node that
	// stopped reporting is down or cut off.
	Reported int64 `json:"reported_at"`
}

type report struct {
	Applied  uint64 `json:"applied_seq"`
	Reported int64  `json:"reported_at"`
}

// reportLoop records the node's applied position in the nodes bucket.
func (n *Node) reportLoop() {
	defer n.wg.Done()
	var last uint64
	first := true
	t := time.NewTicker(reportInterval)
	defer t.Stop()
	for {
		if a := n.applied.Load(); a != last || first {
			b, _ := json.Marshal(report{Applied: a, Reported: time.Now().Unix()})
			ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
			if _, err := n.nodes.Put(ctx, n.cfg.NodeName, b); err == nil {
				last, first = a, false
			}
			cancel()
		}
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Status returns the cluster as this node sees it. When the stream cannot
// be reached, it still gives this node's own position, and the error.
func (n *Node) Status(ctx context.Context) (*Status, error) {
	s := &Status{Node: n.cfg.NodeName, Mode: "external", Replicas: n.cfg.Replicas}
	if n.srv != nil {
		s.Mode = "embedded"
	}
	self := NodeStatus{Name: n.cfg.NodeName, Applied: n.applied.Load(), Reported: time.Now().Unix()}
	stream, err := n.js.Stream(ctx, opsStream)
	if err != nil {
		s.Nodes = []NodeStatus{self}
		return s, err
	}
	info := stream.CachedInfo()
	s.Last, s.First = info.State.LastSeq, info.State.FirstSeq
	if info.Cluster != nil {
		s.Leader = info.Cluster.Leader
	}
	byName := map[string]NodeStatus{}
	keys, err := n.nodes.Keys(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		return s, err
	}
	for _, k := range keys {
		e, err := n.nodes.Get(ctx, k)
		if err != nil {
			continue
		}
		var r report
		if json.Unmarshal(e.Value(), &r) == nil {
			byName[k] = NodeStatus{Name: k, Applied: r.Applied, Reported: r.Reported}
		}
	}
	byName[self.Name] = self
	for _, ns := range byName {
		if s.Last > ns.Applied {
			ns.Lag = s.Last - ns.Applied
		}
		s.Nodes = append(s.Nodes, ns)
	}
	sort.Slice(s.Nodes, func(i, j int) bool { return s.Nodes[i].Name < s.Nodes[j].Name })
	return s, nil
}
