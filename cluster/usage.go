package cluster

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/ragd/ragd"
)

// Usage counters and request logs stay each node's own (they are counted
// on every request, too often to replicate); a node asked for usage or
// logs asks every other node for theirs over NATS request-reply and adds
// them up, or merges them.
const (
	usageSubject = "ragd.query.usage"
	logsSubject  = "ragd.query.logs"
	nodeHeader   = "Ragd-Node"
	// gatherWait bounds how long a node waits for the others' answers.
	gatherWait = 2 * time.Second
)

// usageQuery asks a node for its monthly counters (Month set) or its
// daily counts (From and To, Unix milliseconds).
type usageQuery struct {
	Workspace string `msgpack:"w"`
	Month     string `msgpack:"m"`
	From      int64  `msgpack:"f"`
	To        int64  `msgpack:"t"`
}

// usageAnswer is a node's answer: its counters or its days.
type usageAnswer struct {
	Keys   []ragd.UsageKey    `msgpack:"k"`
	Counts []ragd.UsageCounts `msgpack:"c"`
	Days   []ragd.DayUsage    `msgpack:"d"`
	Err    string             `msgpack:"e"`
}

// serveQueries answers the other nodes' usage and request-log queries
// from this node's store.
func (n *Node) serveQueries() error {
	if err := n.serve(usageSubject, func(ctx context.Context, data []byte) any {
		var q usageQuery
		var a usageAnswer
		if err := msgpack.Unmarshal(data, &q); err != nil {
			a.Err = err.Error()
		} else if err := n.localUsage(ctx, q, &a); err != nil {
			a.Err = err.Error()
		}
		return &a
	}); err != nil {
		return err
	}
	return n.serve(logsSubject, func(ctx context.Context, data []byte) any {
		var q logsQuery
		if err := msgpack.Unmarshal(data, &q); err != nil {
			return &logsAnswer{Err: err.Error()}
		}
		return n.localLogs(ctx, q)
	})
}

// serve answers the queries of other nodes on subject with what answer
// returns, msgpack-encoded.
func (n *Node) serve(subject string, answer func(ctx context.Context, data []byte) any) error {
	_, err := n.nc.Subscribe(subject, func(m *nats.Msg) {
		if m.Header.Get(nodeHeader) == n.cfg.NodeName {
			return
		}
		b, _ := msgpack.Marshal(answer(n.ctx, m.Data))
		m.Respond(b)
	})
	return err
}

func (n *Node) localUsage(ctx context.Context, q usageQuery, a *usageAnswer) error {
	if q.Month != "" {
		counts, err := n.st.Usage(ctx, q.Workspace, q.Month)
		for _, k := range slices.SortedFunc(maps.Keys(counts), func(a, b ragd.UsageKey) int {
			return compareKeys(a, b)
		}) {
			a.Keys, a.Counts = append(a.Keys, k), append(a.Counts, counts[k])
		}
		return err
	}
	var err error
	a.Days, err = n.st.DailyUsage(ctx, q.Workspace, time.UnixMilli(q.From), time.UnixMilli(q.To))
	return err
}

func compareKeys(a, b ragd.UsageKey) int {
	for _, c := range [][2]string{{a.Workspace, b.Workspace}, {a.Month, b.Month}, {a.Endpoint, b.Endpoint}, {a.Model, b.Model}} {
		if c[0] != c[1] {
			if c[0] < c[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// gather asks every other live node q on subject and decodes their
// answers: as many as answer within gatherWait (a node that is down is
// not counted), less those whose failed reports an error.
func gather[A any](ctx context.Context, n *Node, subject string, q any, failed func(*A) string) ([]A, error) {
	want := n.LiveNodes() - 1
	if want <= 0 {
		return nil, nil
	}
	data, err := msgpack.Marshal(q)
	if err != nil {
		return nil, err
	}
	inbox := n.nc.NewInbox()
	sub, err := n.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	msg := &nats.Msg{Subject: subject, Reply: inbox, Data: data, Header: nats.Header{}}
	msg.Header.Set(nodeHeader, n.cfg.NodeName)
	if err := n.nc.PublishMsg(msg); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, gatherWait)
	defer cancel()
	var out []A
	for answered := 0; answered < want; answered++ {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			n.log.Warn("not every node answered; the answer lacks theirs", "query", subject, "answered", answered, "live_others", want)
			break
		}
		var a A
		if err := msgpack.Unmarshal(m.Data, &a); err != nil || failed(&a) != "" {
			n.log.Warn("a node answered with an error", "query", subject, "err", cmp.Or(failed(&a), fmt.Sprint(err)))
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// allUsage returns this node's answer to q and those of every other node
// that answered.
func (n *Node) allUsage(ctx context.Context, q usageQuery) ([]usageAnswer, error) {
	var own usageAnswer
	if err := n.localUsage(ctx, q, &own); err != nil {
		return nil, err
	}
	others, err := gather(ctx, n, usageSubject, q, func(a *usageAnswer) string { return a.Err })
	if err != nil {
		return nil, err
	}
	return append(others, own), nil
}

// Usage returns the counters of workspace ws in month, added up over
// every node that answered (this node's own always).
func (n *Node) Usage(ctx context.Context, ws, month string) (map[ragd.UsageKey]ragd.UsageCounts, error) {
	answers, err := n.allUsage(ctx, usageQuery{Workspace: ws, Month: month})
	if err != nil {
		return nil, err
	}
	total := map[ragd.UsageKey]ragd.UsageCounts{}
	for _, a := range answers {
		for i, k := range a.Keys {
			c := total[k]
			c.Add(a.Counts[i])
			total[k] = c
		}
	}
	return total, nil
}

// DailyUsage returns the requests and tokens of workspace ws by UTC day
// from from to to, added up over every node that answered.
func (n *Node) DailyUsage(ctx context.Context, ws string, from, to time.Time) ([]ragd.DayUsage, error) {
	answers, err := n.allUsage(ctx, usageQuery{Workspace: ws, From: from.UnixMilli(), To: to.UnixMilli()})
	if err != nil {
		return nil, err
	}
	byDay := map[string]ragd.DayUsage{}
	for _, a := range answers {
		for _, d := range a.Days {
			t := byDay[d.Date]
			t.Date, t.Requests, t.Tokens = d.Date, t.Requests+d.Requests, t.Tokens+d.Tokens
			byDay[d.Date] = t
		}
	}
	return slices.SortedFunc(maps.Values(byDay), func(a, b ragd.DayUsage) int {
		if a.Date < b.Date {
			return -1
		}
		return 1
	}), nil
}
