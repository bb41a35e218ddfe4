// Command ragd-load is ragd's reliability harness: from its own process it
// drives a ragd over loopback with concurrent searches while items are
// added and files are uploaded and ingested, bounded in requests and time,
// and reports throughput, p50/p99 latency and errors; then it checks that
// every acknowledged write is present and every acknowledged file is
// ingested. With -crash it kills ragd with SIGKILL halfway, runs "ragd
// check" (PRAGMA integrity_check), restarts it and checks again: files
// acknowledged before the kill must finish ingesting after the restart.
//
// With -nodes 3 it starts a three-node cluster instead and spreads every
// client over the nodes; -crash then kills one node halfway while the load
// goes on against the others, restarts it a quarter later, and checks
// that every node converged on the same items (every acknowledged one
// among them), the same search results and the files, that each file's
// webhook event fired once (from the node that ingested it), and that
// each node's database passes the integrity check.
//
//	make build && go run ./cmd/ragd-load -ragd bin/ragd -duration 30s
//	go run ./cmd/ragd-load -ragd bin/ragd -duration 30s -crash
//	go run ./cmd/ragd-load -ragd bin/ragd -nodes 3 -duration 30s -crash
//	go run ./cmd/ragd-load -url http://127.0.0.1:8080,http://127.0.0.1:8081 -key KEY
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ragd/ragd/internal/freeport"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ragd-load:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	ragd, url, key, dataDir string
	nodes                   int
	duration                time.Duration
	maxRequests             int64
	searchers, writers      int
	uploaders               int
	crash                   bool
}

func run(args []string) error {
	var c config
	flag := flag.NewFlagSet("ragd-load", flag.ExitOnError)
	flag.StringVar(&c.ragd, "ragd", "", "ragd binary to start on a temporary data dir (else -url and -key)")
	flag.StringVar(&c.url, "url", "", "base URL of a running ragd, or comma-separated URLs of a cluster's nodes")
	flag.IntVar(&c.nodes, "nodes", 1, "with -ragd: how many ragd nodes to start as one cluster (embedded NATS)")
	flag.StringVar(&c.key, "key", os.Getenv("RAGD_KEY"), "API key for -url (env RAGD_KEY); give it a high rpm")
	flag.StringVar(&c.dataDir, "data-dir", "", "with -ragd: data directory (default: a new temporary one)")
	flag.DurationVar(&c.duration, "duration", 30*time.Second, "how long the load runs at most")
	flag.Int64Var(&c.maxRequests, "max-requests", 50_000, "how many requests the load sends at most")
	flag.IntVar(&c.searchers, "searchers", 8, "concurrent search clients")
	flag.IntVar(&c.writers, "writers", 2, "concurrent item writers")
	flag.IntVar(&c.uploaders, "uploaders", 1, "concurrent file uploaders, each waiting for its file to be ingested before the next")
	flag.BoolVar(&c.crash, "crash", false, "with -ragd: SIGKILL ragd halfway, check the database, restart and verify")
	flag.Parse(args)
	if c.crash && c.ragd == "" {
		return errors.New("-crash needs -ragd")
	}
	if c.nodes < 1 || (c.nodes > 1 && c.ragd == "") {
		return errors.New("-nodes needs -ragd and at least 1")
	}
	if c.nodes > 1 {
		return runCluster(c)
	}
	var srv *child
	if c.ragd != "" {
		if c.dataDir == "" {
			d, err := os.MkdirTemp("", "ragd-load-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(d)
			c.dataDir = d
		}
		var err error
		if srv, err = startChild(c.ragd, c.dataDir); err != nil {
			return err
		}
		defer srv.stop()
		c.url, c.key = srv.url, srv.key
	}
	if c.url == "" || c.key == "" {
		return errors.New("give -ragd, or -url and -key")
	}
	cl := newClient(strings.Split(c.url, ","), c.key)
	colID, err := cl.setup()
	if err != nil {
		return err
	}
	fmt.Printf("collection %s seeded with %d items; load: %d searchers, %d writers, %d uploaders, at most %s and %d requests\n",
		colID, seedItems, c.searchers, c.writers, c.uploaders, c.duration, c.maxRequests)
	ctx, cancel := context.WithTimeout(context.Background(), c.duration)
	defer cancel()
	if c.crash {
		go func() {
			time.Sleep(c.duration / 2)
			fmt.Println("SIGKILL ragd during the load")
			srv.kill()
			cancel()
		}()
	}
	res := load(ctx, cl, colID, c)
	res.print()
	if n := res.fivexx(); n > 0 {
		return fmt.Errorf("%d requests answered 5xx", n)
	}
	if res.transportErrors > 0 && !c.crash {
		return fmt.Errorf("%d requests failed in transport", res.transportErrors)
	}
	if c.crash {
		out, err := exec.Command(c.ragd, "check", "--data-dir", c.dataDir).CombinedOutput()
		fmt.Printf("ragd check after SIGKILL: %s", out)
		if err != nil {
			return fmt.Errorf("integrity check failed: %w", err)
		}
		if srv, err = startChild(c.ragd, c.dataDir); err != nil {
			return err
		}
		defer srv.stop()
		cl.bases, cl.key = []string{srv.url}, srv.key
		fmt.Println("ragd restarted")
	}
	return verify(cl, colID, res)
}

// child is ragd started by the harness.
type child struct {
	cmd      *exec.Cmd
	url, key string
	exited   chan struct{} // closed once the process ended
}

// startChild starts ragd serve on a free loopback port with no rate limit,
// with extra flags (a cluster node's), and waits until it is ready: for
// up to 3 minutes, past a cluster node's own 2-minute start timeout, so
// that a node that cannot start says why before the harness gives up.
func startChild(bin, dataDir string, extra ...string) (*child, error) {
	addr, err := freeport.Addr()
	if err != nil {
		return nil, err
	}
	return startChildOn(bin, dataDir, addr, keyFile(dataDir), extra...)
}

func startChildOn(bin, dataDir, addr, key string, extra ...string) (*child, error) {
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--data-dir", dataDir, "--rate-limit-tier", "unlimited",
		"--log-level", envOr("RAGD_LOAD_LOG_LEVEL", "warn")}, extra...)...)
	cmd.Env = append(os.Environ(), "RAGD_ADMIN_KEY="+key)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, url: "http://" + addr, key: key, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(c.exited) }()
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-c.exited:
			return nil, fmt.Errorf("ragd exited before it was ready: %v", cmd.ProcessState)
		default:
		}
		if resp, err := http.Get(c.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return c, nil
			}
		}
	}
	c.kill()
	return nil, errors.New("ragd did not become ready")
}

// keyFile returns the admin key kept beside the data dir, so a restart
// uses the same one.
func keyFile(dataDir string) string {
	path := filepath.Join(dataDir, "load-admin-key")
	if b, err := os.ReadFile(path); err == nil {
		return string(b)
	}
	var b [24]byte
	rand.Read(b[:])
	key := "ragd-load-" + hex.EncodeToString(b[:])
	os.MkdirAll(dataDir, 0o700)
	os.WriteFile(path, []byte(key), 0o600)
	return key
}

func (c *child) kill() { c.cmd.Process.Kill(); <-c.exited }

// stop shuts ragd down gracefully.
func (c *child) stop() {
	c.cmd.Process.Signal(os.Interrupt)
	<-c.exited
}

// client calls the ragd API: one node's, or a cluster's, each call to the
// next node in turn, skipping a node that failed in transport (it may be
// down) for a second.
type client struct {
	bases []string
	key   string
	http  *http.Client
	next  atomic.Uint64
	mu    sync.Mutex
	down  map[string]time.Time // base -> until
}

func newClient(bases []string, key string) *client {
	return &client{bases: bases, key: key, down: map[string]time.Time{}, http: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// base returns the node for the next call.
func (c *client) base() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for range c.bases {
		b := c.bases[c.next.Add(1)%uint64(len(c.bases))]
		if time.Now().After(c.down[b]) {
			return b
		}
	}
	return c.bases[0]
}

func (c *client) markDown(base string) {
	c.mu.Lock()
	c.down[base] = time.Now().Add(time.Second)
	c.mu.Unlock()
}

// call sends a JSON request and decodes a 2xx reply into out; it returns
// the status (0 for a transport error).
func (c *client) call(method, path string, body, out any) (int, error) {
	return c.callOn(c.base(), method, path, body, out)
}

// callOn is call on one node.
func (c *client) callOn(base, method, path string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, r)
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		c.markDown(base)
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, msg)
	}
	if out != nil {
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

const seedItems = 500

var words = []string{"sqlite", "vector", "search", "embedding", "chunk", "token", "backup", "webhook", "latency",
	"collection", "query", "ranking", "hybrid", "keyword", "database", "index", "shutdown", "metrics", "server", "model"}

// sentence makes a deterministic sentence from n.
func sentence(n int) string {
	var b bytes.Buffer
	for i := range 12 {
		b.WriteString(words[(n*7+i*13+i*i)%len(words)])
		b.WriteByte(' ')
	}
	return fmt.Sprintf("%sdocument %d", b.String(), n)
}

// setup creates the collection and seeds it.
func (c *client) setup() (string, error) {
	var col struct{ Collection struct{ ID string } }
	if _, err := c.call("POST", "/v1/vector_store", map[string]any{"name": fmt.Sprintf("load-%d", time.Now().UnixNano())}, &col); err != nil {
		return "", err
	}
	for start := 0; start < seedItems; start += 100 {
		var items []map[string]any
		for i := start; i < start+100; i++ {
			items = append(items, map[string]any{"content": sentence(i)})
		}
		if _, err := c.call("POST", "/v1/vector_store/"+col.Collection.ID+"/items/batch", map[string]any{"items": items}, nil); err != nil {
			return "", err
		}
	}
	return col.Collection.ID, nil
}

// result is what a load run measured.
type result struct {
	elapsed               time.Duration
	search, write, upload []time.Duration
	statuses              map[int]int
	transportErrors       int
	acked                 []string // items
	files                 []string // acknowledged uploads
	inFlight              atomic.Int64
	mu                    sync.Mutex
}

func (r *result) record(op *[]time.Duration, d time.Duration, status int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses[status]++
	if status == 0 {
		r.transportErrors++
		return
	}
	if err == nil {
		*op = append(*op, d)
	}
}

// load runs searchers and writers until ctx ends or the request budget is
// spent.
func load(ctx context.Context, c *client, colID string, cfg config) *result {
	res := &result{statuses: map[int]int{}}
	var sent atomic.Int64
	var wg sync.WaitGroup
	worker := func(id int, write bool) {
		defer wg.Done()
		for i := 0; ctx.Err() == nil && sent.Add(1) <= cfg.maxRequests; i++ {
			start := time.Now()
			if write {
				var it struct{ Item struct{ ID string } }
				st, err := c.call("POST", "/v1/vector_store/"+colID+"/items", map[string]any{"content": sentence(1_000_000 + id*1_000_000 + i)}, &it)
				res.record(&res.write, time.Since(start), st, err)
				if err == nil {
					res.mu.Lock()
					res.acked = append(res.acked, it.Item.ID)
					res.mu.Unlock()
				}
				continue
			}
			st, err := c.call("POST", "/v1/vector_store/"+colID+"/search", map[string]any{"input": sentence(i * 31)[:40], "top_k": 10}, nil)
			res.record(&res.search, time.Since(start), st, err)
		}
	}
	uploader := func(id int) {
		defer wg.Done()
		for i := 0; ctx.Err() == nil && sent.Add(1) <= cfg.maxRequests; i++ {
			start := time.Now()
			var f fileReply
			st, err := c.upload(colID, fmt.Sprintf("load-%d-%d.md", id, i), document(id, i), &f)
			res.record(&res.upload, time.Since(start), st, err)
			if err != nil {
				continue
			}
			res.mu.Lock()
			res.files = append(res.files, f.File.ID)
			res.mu.Unlock()
			if f := c.waitFile(ctx, colID, f.File.ID); f.File.Status != "completed" && f.File.Status != "failed" {
				res.inFlight.Add(1) // cut by the end of the load or a kill
			}
		}
	}
	start := time.Now()
	for i := range cfg.searchers {
		wg.Add(1)
		go worker(i, false)
	}
	for i := range cfg.writers {
		wg.Add(1)
		go worker(i, true)
	}
	for i := range cfg.uploaders {
		wg.Add(1)
		go uploader(i)
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func (r *result) print() {
	total := len(r.search) + len(r.write) + len(r.upload)
	fmt.Printf("%d requests ok in %.1fs: %.0f req/s\n", total, r.elapsed.Seconds(), float64(total)/r.elapsed.Seconds())
	for _, op := range []struct {
		name string
		d    []time.Duration
	}{{"search", r.search}, {"add item", r.write}, {"upload", r.upload}} {
		fmt.Printf("  %-8s %6d ok  %6.0f/s  p50 %7.2fms  p99 %7.2fms\n", op.name, len(op.d), float64(len(op.d))/r.elapsed.Seconds(),
			float64(percentile(op.d, .5).Microseconds())/1000, float64(percentile(op.d, .99).Microseconds())/1000)
	}
	fmt.Printf("  statuses %v; 5xx: %d; transport errors: %d\n", r.statuses, r.fivexx(), r.transportErrors)
}

// fivexx counts the replies with a 5xx status.
func (r *result) fivexx() int {
	n := 0
	for st, count := range r.statuses {
		if st >= 500 {
			n += count
		}
	}
	return n
}

// verify checks that every acknowledged item is present and that every
// acknowledged file finishes ingesting, and counts them.
func verify(c *client, colID string, res *result) error {
	if err := waitFiles(c, colID, res); err != nil {
		return err
	}
	return checkItems(c, colID, res)
}

// waitFiles waits until every acknowledged file completed or failed, and
// fails unless all completed.
func waitFiles(c *client, colID string, res *result) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	status := map[string]int{}
	chunks := 0
	for _, id := range res.files {
		f := c.waitFile(ctx, colID, id)
		status[f.File.Status]++
		if e := f.File.Error; e != nil {
			fmt.Printf("file %s failed: %s: %s\n", id, e.Code, e.Message)
		}
		chunks += f.File.Chunks
	}
	fmt.Printf("acknowledged files: %d (%d not yet ingested when the load ended), by status after ingest: %v, %d chunks\n",
		len(res.files), res.inFlight.Load(), status, chunks)
	if n := len(res.files) - status["completed"]; n > 0 {
		return fmt.Errorf("%d acknowledged files did not complete", n)
	}
	return nil
}

// checkItems checks that every acknowledged item is present, and counts
// the collection's items.
func checkItems(c *client, colID string, res *result) error {
	missing := 0
	for _, id := range res.acked {
		if st, _ := c.call("GET", "/v1/vector_store/"+colID+"/items/"+id, nil, nil); st != 200 {
			missing++
		}
	}
	var col struct {
		Collection struct {
			ItemCount int `json:"item_count"`
		}
	}
	if _, err := c.call("GET", "/v1/vector_store/"+colID, nil, &col); err != nil {
		return err
	}
	fmt.Printf("acknowledged writes: %d, missing: %d; items in the collection: %d (seeded %d + acknowledged %d; unacknowledged writes cut by a kill may add more)\n",
		len(res.acked), missing, col.Collection.ItemCount, seedItems, len(res.acked))
	if missing > 0 || col.Collection.ItemCount < seedItems+len(res.acked) {
		return fmt.Errorf("%d acknowledged writes lost", missing)
	}
	return nil
}

// fileReply is the reply of the file routes.
type fileReply struct {
	File struct {
		ID, Status string
		Chunks     int
		Error      *struct{ Code, Message string }
	}
}

// upload posts a file to the collection without waiting for its ingest.
func (c *client) upload(colID, name, content string, out *fileReply) (int, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("file", name)
	io.WriteString(part, content)
	mw.Close()
	base := c.base()
	req, _ := http.NewRequest("POST", base+"/v1/vector_store/"+colID+"/files", &body)
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.http.Do(req)
	if err != nil {
		c.markDown(base)
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return resp.StatusCode, fmt.Errorf("upload %s: %d %s", name, resp.StatusCode, msg)
	}
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
}

// waitFile polls file id until it is completed or failed, or ctx ends,
// and returns its last state.
func (c *client) waitFile(ctx context.Context, colID, id string) fileReply {
	var f fileReply
	for {
		f = fileReply{}
		st, _ := c.call("GET", "/v1/vector_store/"+colID+"/files/"+id, nil, &f)
		if st == 200 && (f.File.Status == "completed" || f.File.Status == "failed") {
			return f
		}
		select {
		case <-ctx.Done():
			return f
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// document makes a deterministic Markdown file of about 4 KB, different
// for each uploader and sequence number.
func document(uploader, seq int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Load document %d-%d\n\n", uploader, seq)
	for p := range 6 {
		fmt.Fprintf(&b, "## Section %d\n\n", p+1)
		for s := range 5 {
			b.WriteString(sentence(10_000_000*(uploader+1) + seq*100 + p*10 + s))
			b.WriteString(". ")
		}
		b.WriteString("\n\n")
	}
	return b.String()
}

// envOr returns the environment variable name, or def when unset.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
