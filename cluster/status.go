package cluster

import (
	"context"
	"encoding/json"
	"maps"
	"sort"
	"time"
)

// reportInterval is how often a node records its applied position in the
// nodes bucket when it changed; heartbeat is how often it does even when
// it did not, and liveWithin how recent a node's last report must be for
// it to count as live.
const (
	reportInterval = time.Second
	heartbeat      = 10 * time.Second
	liveWithin     = 3 * heartbeat
)

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

// reportLoop records the node's applied position in the nodes bucket, at
// least every heartbeat, and counts the live nodes from their reports.
func (n *Node) reportLoop() {
	defer n.wg.Done()
	var last uint64
	var at time.Time
	t := time.NewTicker(reportInterval)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
		if a := n.applied.Load(); a != last || time.Since(at) >= heartbeat {
			now := time.Now()
			b, _ := json.Marshal(report{Applied: a, Reported: now.Unix()})
			if _, err := n.nodes.Put(ctx, n.cfg.NodeName, b); err == nil {
				last, at = a, now
			}
		}
		if reports, err := n.reports(ctx); err == nil {
			live := 0
			for _, r := range reports {
				if time.Since(time.Unix(r.Reported, 0)) < liveWithin {
					live++
				}
			}
			n.live.Store(int32(max(1, live)))
		}
		cancel()
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watchReports keeps n.known up to date with every node's last report,
// from a watcher of the nodes bucket: pushed changes, not a listing of
// the bucket (a JetStream API request) every second on every node.
func (n *Node) watchReports(ctx context.Context) error {
	if n.watching {
		return nil
	}
	w, err := n.nodes.WatchAll(ctx)
	if err != nil {
		return err
	}
	n.watching = true
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer w.Stop()
		for {
			select {
			case <-n.ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					continue // the initial values are all in
				}
				var r report
				if json.Unmarshal(e.Value(), &r) == nil {
					// The stream's own time of the report, not the
					// reporting node's clock, which may be off.
					r.Reported = e.Created().Unix()
					n.mu.Lock()
					n.known[e.Key()] = r
					n.mu.Unlock()
				}
			}
		}
	}()
	return nil
}

// reports returns every node's last report, by node name.
func (n *Node) reports(context.Context) (map[string]report, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return maps.Clone(n.known), nil
}

// LiveNodes returns how many nodes reported within the last 30 s (at
// least 1: this one): each enforces its share of a key's rate limits.
func (n *Node) LiveNodes() int { return int(max(1, n.live.Load())) }

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
	reports, err := n.reports(ctx)
	if err != nil {
		return s, err
	}
	for k, r := range reports {
		byName[k] = NodeStatus{Name: k, Applied: r.Applied, Reported: r.Reported}
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
