package cluster

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/ragd/ragd"
)

// logsQuery asks a node for a page of its request logs of one workspace
// after a cursor of logs merged from all nodes (empty for the first
// page). Times are Unix milliseconds.
type logsQuery struct {
	Workspace string `msgpack:"w"`
	From      int64  `msgpack:"f"`
	To        int64  `msgpack:"t"`
	Endpoint  string `msgpack:"p"`
	Limit     int    `msgpack:"l"`
	After     string `msgpack:"a"`
}

// logsAnswer is a node's page of logs, each with its node, and whether it
// has more.
type logsAnswer struct {
	Logs []ragd.RequestLog `msgpack:"l"`
	More bool              `msgpack:"m"`
	Err  string            `msgpack:"e"`
}

// RequestLogs returns a page of the request logs q selects from every
// node that answered within gatherWait, merged newest first (by time,
// then node name, then the node's log ID), and whether more follow. Each
// node keeps its own logs, numbered by itself, so the page's cursor
// (ragd.RequestLog.Cursor) names the node of its last log; a cursor of
// another form is EINVALID. A node's logs still in its write buffer (up
// to 2 s, the server's flush interval) are listed once written.
func (n *Node) RequestLogs(ctx context.Context, q ragd.RequestLogQuery) ([]ragd.RequestLog, bool, error) {
	if q.Page.After != "" {
		if _, _, _, ok := ragd.ParseNodeCursor(q.Page.After); !ok {
			return nil, false, ragd.InvalidCursor(q.Page.After)
		}
	}
	lq := logsQuery{Workspace: q.Workspace, From: q.From.UnixMilli(), To: q.To.UnixMilli(), Endpoint: q.Endpoint,
		Limit: q.Page.Limit, After: q.Page.After}
	own := n.localLogs(ctx, lq)
	if own.Err != "" {
		return nil, false, ragd.Errorf(ragd.EINTERNAL, "listing request logs: %s", own.Err)
	}
	others, err := gather(ctx, n, logsSubject, lq, func(a *logsAnswer) string { return a.Err })
	if err != nil {
		return nil, false, err
	}
	logs, more := own.Logs, own.More
	for _, a := range others {
		logs, more = append(logs, a.Logs...), more || a.More
	}
	slices.SortFunc(logs, func(a, b ragd.RequestLog) int {
		return cmp.Or(b.Time.Compare(a.Time), cmp.Compare(b.Node, a.Node), cmp.Compare(b.ID, a.ID))
	})
	if len(logs) > q.Page.Limit {
		logs, more = logs[:q.Page.Limit], true
	}
	return logs, more, nil
}

// localLogs answers q from this node's store: its logs that come after
// q.After in the merged order, where a log of the same millisecond comes
// after the cursor's when its node's name is lower, or it is the same
// node's with a lower ID.
func (n *Node) localLogs(ctx context.Context, q logsQuery) *logsAnswer {
	sq := ragd.RequestLogQuery{Workspace: q.Workspace, From: time.UnixMilli(q.From), To: time.UnixMilli(q.To),
		Endpoint: q.Endpoint, Page: ragd.Page{Limit: q.Limit}}
	if ms, id, node, ok := ragd.ParseNodeCursor(q.After); ok {
		sq.Before = &ragd.LogPosition{Time: ms}
		switch me := n.cfg.NodeName; {
		case me < node:
			sq.Before.ID = math.MaxInt64
		case me == node:
			sq.Before.ID = id
		}
	}
	logs, more, err := n.st.RequestLogs(ctx, sq)
	if err != nil {
		return &logsAnswer{Err: err.Error()}
	}
	for i := range logs {
		logs[i].Node = n.cfg.NodeName
	}
	return &logsAnswer{Logs: logs, More: more}
}
