package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/client"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// ingestOptions are the flags of ragd ingest.
type ingestOptions struct {
	url, key, collection     string
	create, wait, verbose    bool
	retryFailed              bool
	parallel                 int
	metadata                 map[string]any
	maxTokens, overlapTokens int
	pollInterval, every      time.Duration
	paths                    []string
}

const ingestUsage = `usage: ragd ingest --collection NAME [flags] PATH...

Uploads files and directory trees into a collection through the HTTP API,
in parallel, skipping hidden files and files already in the collection. A
re-run after an interruption resumes where it stopped. The exit status is 1
if any file failed.

flags:
`

// parseIngestFlags reads the flags of ragd ingest.
func parseIngestFlags(args []string, stderr io.Writer) (*ingestOptions, error) {
	o := &ingestOptions{}
	fs := flag.NewFlagSet("ragd ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, ingestUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.url, "url", envOr("RAGD_URL", "http://127.0.0.1:8080"), "ragd server URL (env RAGD_URL)")
	fs.StringVar(&o.key, "key", "", "API key (default: env RAGD_API_KEY, which keeps it out of ps)")
	fs.StringVar(&o.collection, "collection", "", "name of the collection to load (required)")
	fs.BoolVar(&o.create, "create", false, "create the collection if it does not exist")
	fs.IntVar(&o.parallel, "parallel", 4, "uploads in flight at once (1..64)")
	meta := fs.String("metadata", "", `JSON object attached to every file, e.g. '{"team":"docs"}'; each file also gets "path", its path under the walked directory`)
	fs.IntVar(&o.maxTokens, "max-tokens", 0, "chunk size in tokens (0: the collection's)")
	fs.IntVar(&o.overlapTokens, "overlap-tokens", 0, "chunk overlap in tokens (0: the collection's)")
	fs.BoolVar(&o.wait, "wait", true, "wait until the server has processed every file (completed or failed)")
	fs.BoolVar(&o.retryFailed, "retry-failed", false, "delete files that failed in an earlier run and upload them again")
	fs.BoolVar(&o.verbose, "v", false, "print a line per file")
	fs.DurationVar(&o.pollInterval, "poll-interval", time.Second, "how often to check on files being processed")
	fs.DurationVar(&o.every, "progress-interval", 10*time.Second, "how often to print a progress line when stderr is not a terminal")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.paths = fs.Args()
	if o.key == "" {
		o.key = os.Getenv("RAGD_API_KEY")
	}
	switch {
	case o.collection == "":
		return nil, ragd.Invalid("collection", "--collection is required")
	case len(o.paths) == 0:
		return nil, ragd.Invalid("path", "name at least one file or directory to ingest")
	case o.key == "":
		return nil, ragd.Invalid("key", "an API key is required: set RAGD_API_KEY or pass --key")
	case o.parallel < 1 || o.parallel > 64:
		return nil, ragd.Invalid("parallel", "--parallel must be from 1 to 64, got %d", o.parallel)
	case o.maxTokens < 0 || o.overlapTokens < 0:
		return nil, ragd.Invalid("max_tokens", "--max-tokens and --overlap-tokens cannot be negative")
	case o.pollInterval <= 0 || o.every <= 0:
		return nil, ragd.Invalid("poll_interval", "--poll-interval and --progress-interval must be positive")
	}
	if *meta != "" {
		if err := json.Unmarshal([]byte(*meta), &o.metadata); err != nil || o.metadata == nil {
			return nil, ragd.Invalid("metadata", "--metadata must be a JSON object, got %q", *meta)
		}
	}
	return o, nil
}

// runIngest is ragd ingest.
func runIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseIngestFlags(args, stderr)
	if err != nil {
		return err
	}
	c, err := client.New(o.url, o.key)
	if err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2 * o.parallel // uploads plus status checks
	c.HTTP = &http.Client{Transport: tr}
	r := &ingestRun{opts: o, c: c, stdout: stdout, progress: newProgress(stderr, o.every),
		known: map[string]*client.File{}, pending: map[string][]int{}}
	c.OnRetry = func(err error, wait time.Duration) {
		r.retries.Add(1)
		if o.verbose {
			r.progress.printf("retrying in %s: %v", wait.Round(time.Millisecond), err)
		}
	}
	return r.run(ctx)
}

// entry is one file found on disk.
type entry struct {
	path string // where it is
	name string // its path under the walked root, sent as its filename
	size int64
	err  error // why it cannot be read, found while walking
}

// walkPaths lists the regular files under roots, following symbolic links
// but visiting each directory once (so links cannot loop), and skipping
// names that start with a dot. A root that does not exist is an error; a
// file or directory that cannot be read is an entry with err set.
func walkPaths(roots []string) ([]entry, error) {
	var out []entry
	seen := map[string]bool{}
	for _, root := range roots {
		st, err := os.Stat(root)
		if err != nil {
			return nil, ragd.Invalid("path", "cannot ingest %s: %v", root, errors.Unwrap(err))
		}
		switch {
		case st.IsDir():
			out = walkDir(root, "", seen, out)
		case st.Mode().IsRegular():
			out = append(out, entry{path: root, name: filepath.Base(root), size: st.Size()})
		default:
			return nil, ragd.Invalid("path", "cannot ingest %s: not a regular file or directory", root)
		}
	}
	return out, nil
}

// walkDir appends the files under dir, whose path under its root is rel.
func walkDir(dir, rel string, seen map[string]bool, out []entry) []entry {
	real, err := filepath.Abs(dir)
	if err == nil {
		real, err = filepath.EvalSymlinks(real)
	}
	if err != nil {
		return append(out, entry{path: dir, name: rel, err: err})
	}
	if seen[real] {
		return out
	}
	seen[real] = true
	des, err := os.ReadDir(dir)
	if err != nil {
		out = append(out, entry{path: dir, name: rel, err: err})
	}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".") {
			continue
		}
		p, r := filepath.Join(dir, de.Name()), path.Join(rel, de.Name())
		st, err := os.Stat(p) // follows links
		switch {
		case err != nil:
			out = append(out, entry{path: p, name: r, err: err})
		case st.IsDir():
			out = walkDir(p, r, seen, out)
		case st.Mode().IsRegular():
			out = append(out, entry{path: p, name: r, size: st.Size()})
		}
	}
	return out
}

// failure is a file that failed, for the summary. stored is whether the
// server kept the failed file (a failure in processing, not at upload).
type failure struct {
	name, code, message string
	stored              bool
}

// ingestRun is one run of ragd ingest.
type ingestRun struct {
	opts     *ingestOptions
	c        *client.Client
	stdout   io.Writer
	progress *progress
	col      *client.Collection
	entries  []entry

	mu       sync.Mutex
	known    map[string]*client.File // by sha256: the collection's files
	pending  map[string][]int        // by file id: entries waiting for it
	failures []failure

	uploaded, skipped, completed, failed atomic.Int64
	sent, retries, collectionFiles       atomic.Int64

	// The poller lists files from after doneID, the last of the first
	// doneN files of the collection, all of them completed or failed.
	doneID string
	doneN  int64
}

// run ingests every file and prints the summary.
func (r *ingestRun) run(ctx context.Context) error {
	start := time.Now()
	var err error
	if r.entries, err = walkPaths(r.opts.paths); err != nil {
		return err
	}
	if len(r.entries) == 0 {
		return ragd.Invalid("path", "no files found under %s (hidden files are skipped)", strings.Join(r.opts.paths, " "))
	}
	if r.col, err = r.collection(ctx); err != nil {
		return err
	}
	for f, err := range r.c.Files(ctx, r.col.ID, "") {
		if err != nil {
			return fmt.Errorf("listing the files of collection %q: %w", r.opts.collection, err)
		}
		r.known[f.SHA256] = f
		r.collectionFiles.Add(1)
	}
	r.progress.start(int64(len(r.entries)), r.status)
	uploadsDone := make(chan struct{})
	var poller sync.WaitGroup
	if r.opts.wait {
		poller.Go(func() { r.poll(ctx, uploadsDone) })
	}
	r.upload(ctx)
	close(uploadsDone)
	poller.Wait()
	r.progress.stop()
	r.summary(time.Since(start))
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: run the same command again to finish the %d remaining files", r.unfinished())
	}
	if n := r.failed.Load(); n > 0 {
		return fmt.Errorf("%d of %d files failed", n, len(r.entries))
	}
	return nil
}

// collection finds the collection by name, creating it with --create.
func (r *ingestRun) collection(ctx context.Context) (*client.Collection, error) {
	col, err := r.c.CollectionByName(ctx, r.opts.collection)
	if ragd.ErrorKind(err) != ragd.ENOTFOUND {
		return col, err
	}
	if !r.opts.create {
		return nil, ragd.Errorf(ragd.ENOTFOUND, "collection %q not found; add --create to create it", r.opts.collection)
	}
	col, err = r.c.CreateCollection(ctx, client.NewCollection{Name: r.opts.collection})
	if ragd.ErrorKind(err) == ragd.ECONFLICT { // created meanwhile by someone else
		return r.c.CollectionByName(ctx, r.opts.collection)
	}
	return col, err
}

// upload feeds every entry to --parallel workers and waits for them.
func (r *ingestRun) upload(ctx context.Context) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range r.opts.parallel {
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for i := range jobs {
				r.ingestFile(ctx, i, buf)
			}
		})
	}
feed:
	for i := range r.entries {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
}

// ingestFile hashes entry i and uploads it unless the collection already
// has its bytes.
func (r *ingestRun) ingestFile(ctx context.Context, i int, buf []byte) {
	e := &r.entries[i]
	if e.err != nil {
		r.fail(failure{name: e.name, code: "unreadable", message: e.err.Error()})
		return
	}
	sum, err := hashFile(e.path, buf)
	if err != nil {
		r.fail(failure{name: e.name, code: "unreadable", message: err.Error()})
		return
	}
	r.mu.Lock()
	f := r.known[sum]
	r.mu.Unlock()
	if f != nil && f.Status == client.StatusFailed && r.opts.retryFailed {
		if err := r.c.DeleteFile(ctx, r.col.ID, f.ID); err != nil && ragd.ErrorKind(err) != ragd.ENOTFOUND {
			r.failErr(ctx, i, err)
			return
		}
		f = nil
	}
	if f != nil {
		r.skipped.Add(1)
		r.settle(i, f, "skipped")
		return
	}
	meta := map[string]any{"path": e.name}
	for k, v := range r.opts.metadata {
		meta[k] = v
	}
	f, created, err := r.c.UploadFile(ctx, r.col.ID, client.Upload{Path: e.path, Name: e.name, Metadata: meta,
		MaxTokens: r.opts.maxTokens, OverlapTokens: r.opts.overlapTokens})
	if err != nil {
		r.failErr(ctx, i, err)
		return
	}
	verb := "skipped"
	if created {
		verb = "uploaded"
		r.uploaded.Add(1)
		r.sent.Add(e.size)
		r.collectionFiles.Add(1)
	} else {
		r.skipped.Add(1)
	}
	r.mu.Lock()
	r.known[sum] = f
	r.mu.Unlock()
	r.settle(i, f, verb)
}

// hashFile returns the hex sha256 of a file's bytes.
func hashFile(name string, buf []byte) (string, error) {
	fh, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, fh, buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// settle records entry i as done if its file f is, or leaves it to the
// poller.
func (r *ingestRun) settle(i int, f *client.File, verb string) {
	if r.opts.verbose {
		r.progress.printf("%s %s (%s, %s)", verb, r.entries[i].name, f.ID, f.Status)
	}
	if f.Done() {
		r.finish(i, f)
		return
	}
	if r.opts.wait {
		r.mu.Lock()
		r.pending[f.ID] = append(r.pending[f.ID], i)
		r.mu.Unlock()
	}
}

// finish counts entry i as completed or failed with its file f.
func (r *ingestRun) finish(i int, f *client.File) {
	if f.Status == client.StatusCompleted {
		r.completed.Add(1)
		if r.opts.verbose {
			r.progress.printf("completed %s (%d chunks)", r.entries[i].name, f.Chunks)
		}
		return
	}
	fl := failure{name: r.entries[i].name, code: "failed", message: "the server gave no reason", stored: f.Error != errDeleted}
	if f.Error != nil {
		fl.code, fl.message = f.Error.Code, f.Error.Message
	}
	r.fail(fl)
}

// failErr records entry i as failed with err, unless err is only the run
// being interrupted, which leaves it unfinished.
func (r *ingestRun) failErr(ctx context.Context, i int, err error) {
	if ctx.Err() != nil {
		return
	}
	fl := failure{name: r.entries[i].name, code: "unreadable", message: err.Error()}
	var e *ragd.Error
	if errors.As(err, &e) {
		fl.code, fl.message = e.ClientCode(), e.Message
	}
	r.fail(fl)
}

// fail records a failed file.
func (r *ingestRun) fail(fl failure) {
	r.failed.Add(1)
	r.mu.Lock()
	r.failures = append(r.failures, fl)
	r.mu.Unlock()
	if r.opts.verbose {
		r.progress.printf("failed %s: %s: %s", fl.name, fl.code, fl.message)
	}
}

// poll checks on pending files until uploads are done and nothing is
// pending, or ctx ends. Rounds are at least as far apart as they take.
func (r *ingestRun) poll(ctx context.Context, uploadsDone <-chan struct{}) {
	t := time.NewTimer(r.opts.pollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-uploadsDone:
			uploadsDone = nil
		case <-t.C:
			start := time.Now()
			r.pollOnce(ctx)
			t.Reset(max(r.opts.pollInterval, time.Since(start)))
		}
		if uploadsDone == nil && r.pendingCount() == 0 {
			return
		}
	}
}

// pendingCount returns the number of files being waited for.
func (r *ingestRun) pendingCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// pendingIDs returns the ids of the files being waited for.
func (r *ingestRun) pendingIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id := range r.pending {
		ids = append(ids, id)
	}
	return ids
}

// pollOnce updates the pending files once, with the fewer requests of
// listing the collection (from the first file not yet done) or getting
// each pending file.
func (r *ingestRun) pollOnce(ctx context.Context) {
	ids := r.pendingIDs()
	if len(ids) == 0 {
		return
	}
	if pages := (r.collectionFiles.Load() - r.doneN + 99) / 100; int64(len(ids)) > pages {
		r.pollList(ctx, ids)
		return
	}
	sem := make(chan struct{}, r.opts.parallel)
	var wg sync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f, err := r.c.File(ctx, r.col.ID, id)
			switch {
			case ragd.ErrorKind(err) == ragd.ENOTFOUND:
				r.update(&client.File{ID: id, Status: client.StatusFailed, Error: errDeleted})
			case err != nil:
				r.pollError(ctx, err)
			default:
				r.update(f)
			}
		})
	}
	wg.Wait()
}

// pollList lists the collection from the first file not yet done and
// moves that mark on. Lists are in creation order, so files uploaded
// since come after it; should a pending file not show up all the same,
// the next round lists from the start.
func (r *ingestRun) pollList(ctx context.Context, ids []string) {
	missing := make(map[string]bool, len(ids))
	for _, id := range ids {
		missing[id] = true
	}
	from, prefix := r.doneID, true
	for f, err := range r.c.Files(ctx, r.col.ID, from) {
		if err != nil {
			r.pollError(ctx, err)
			return
		}
		delete(missing, f.ID)
		r.update(f)
		if prefix = prefix && f.Done(); prefix {
			r.doneID, r.doneN = f.ID, r.doneN+1
		}
	}
	switch {
	case len(missing) == 0:
	case from == "": // listed everything: they are gone
		for id := range missing {
			r.update(&client.File{ID: id, Status: client.StatusFailed, Error: errDeleted})
		}
	default:
		r.doneID, r.doneN = "", 0
	}
}

// errDeleted is the failure of a file deleted while we waited for it.
var errDeleted = &client.FileError{Code: "deleted", Message: "the file was deleted before it was processed"}

// pollError reports a failed status check; the next round tries again.
func (r *ingestRun) pollError(ctx context.Context, err error) {
	if ctx.Err() == nil {
		r.progress.printf("checking file status failed (will retry): %v", err)
	}
}

// update settles the entries waiting for f if it is done.
func (r *ingestRun) update(f *client.File) {
	if !f.Done() {
		return
	}
	r.mu.Lock()
	waiting := r.pending[f.ID]
	delete(r.pending, f.ID)
	if f.SHA256 != "" {
		r.known[f.SHA256] = f
	}
	r.mu.Unlock()
	for _, i := range waiting {
		r.finish(i, f)
	}
}

// unfinished is the number of files neither completed nor failed.
func (r *ingestRun) unfinished() int64 {
	return int64(len(r.entries)) - r.completed.Load() - r.failed.Load()
}

// status returns how many files are done and the counts behind it.
func (r *ingestRun) status() (done int64, counts string) {
	return r.completed.Load() + r.failed.Load(), fmt.Sprintf("%d uploaded, %d skipped, %d failed, %d processing",
		r.uploaded.Load(), r.skipped.Load(), r.failed.Load(), r.pendingCount())
}

// summary prints what the run did.
func (r *ingestRun) summary(d time.Duration) {
	var total int64
	for _, e := range r.entries {
		total += e.size
	}
	w := r.stdout
	fmt.Fprintf(w, "ingest into collection %q (%s): %d files, %s, in %s\n", r.col.Name, r.col.ID, len(r.entries), humanBytes(total), d.Round(time.Millisecond))
	fmt.Fprintf(w, "  uploaded    %d (%s)\n", r.uploaded.Load(), humanBytes(r.sent.Load()))
	fmt.Fprintf(w, "  skipped     %d (already in the collection)\n", r.skipped.Load())
	fmt.Fprintf(w, "  completed   %d\n", r.completed.Load())
	fmt.Fprintf(w, "  failed      %d\n", r.failed.Load())
	if n := r.unfinished(); n > 0 {
		fmt.Fprintf(w, "  unfinished  %d\n", n)
	}
	if n := r.retries.Load(); n > 0 {
		fmt.Fprintf(w, "  retries     %d\n", n)
	}
	secs := max(d.Seconds(), 1e-9)
	fmt.Fprintf(w, "  throughput  %.1f files/s, %s/s uploaded\n",
		float64(r.uploaded.Load()+r.skipped.Load())/secs, humanBytes(int64(float64(r.sent.Load())/secs)))
	if len(r.failures) == 0 {
		return
	}
	fmt.Fprintln(w, "failed files:")
	stored := false
	for _, f := range r.failures {
		fmt.Fprintf(w, "  %s: %s: %s\n", f.name, f.code, f.message)
		stored = stored || f.stored
	}
	if stored && !r.opts.retryFailed {
		fmt.Fprintln(w, "(a file that failed in processing stays in the collection; --retry-failed uploads it again)")
	}
}

// humanBytes formats a byte count in binary units.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// progress shows how a run goes on w: a progress bar when w is a
// terminal, else a plain line every interval (no per-file output unless
// verbose). Its methods are safe for concurrent use.
type progress struct {
	w     io.Writer
	tty   bool
	every time.Duration

	mu   sync.Mutex
	bar  *progressbar.ProgressBar
	quit chan struct{}
	wg   sync.WaitGroup
}

// newProgress returns a progress writing to w, not yet started.
func newProgress(w io.Writer, every time.Duration) *progress {
	p := &progress{w: w, every: every}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty, p.every = true, 200*time.Millisecond
	}
	return p
}

// start shows the progress of total files, asking status for the number
// done and a line of counts.
func (p *progress) start(total int64, status func() (int64, string)) {
	if p.tty {
		p.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetItsString("files"), progressbar.OptionShowIts(), progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true), progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetRenderBlankState(true))
	}
	p.quit = make(chan struct{})
	p.wg.Go(func() {
		t := time.NewTicker(p.every)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				if p.bar != nil {
					p.render(total, status)
					p.bar.Finish()
					fmt.Fprintln(p.w)
				}
				return
			case <-t.C:
				p.render(total, status)
			}
		}
	})
}

// render shows the current state once.
func (p *progress) render(total int64, status func() (int64, string)) {
	done, counts := status()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Describe(counts)
		p.bar.Set64(done)
		return
	}
	fmt.Fprintf(p.w, "ingest: %d/%d files done: %s\n", done, total, counts)
}

// printf prints a line without garbling the bar.
func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

// stop ends the display; start must have been called.
func (p *progress) stop() {
	close(p.quit)
	p.wg.Wait()
}
