package main

import (
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/client"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/extract"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// ingestOptions are the flags of ragd ingest.
type ingestOptions struct {
	url, key, collection     string
	create, wait, verbose    bool
	retryFailed              bool
	failUnsupported          bool
	filter                   pathFilter
	parallel                 int
	metadata                 map[string]any
	maxTokens, overlapTokens int
	pollInterval, every      time.Duration
	paths                    []string
}

const ingestUsage = `usage: ragd ingest --collection NAME [flags] PATH... [flags]

Uploads files and directory trees into a collection through the HTTP API,
in parallel, skipping hidden files, files already in the collection and
files of a type ragd cannot read (counted apart, not as failures). A
gzip-compressed file (NAME.gz) is uncompressed and uploaded as NAME. A
re-run after an interruption resumes where it stopped. The exit status is 1
if any file failed. Flags may come before or after the paths; after "--",
everything is a path.

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
	fs.BoolVar(&o.failUnsupported, "fail-unsupported", false, "count files of a type ragd cannot read as failures instead of skipping them")
	fs.Func("include", "only ingest files matching this glob (repeatable); a glob without / matches the file name, one with / the path under the walked directory", o.filter.add(&o.filter.include))
	fs.Func("exclude", "skip files and directories matching this glob (repeatable), matched like --include", o.filter.add(&o.filter.exclude))
	fs.BoolVar(&o.verbose, "v", false, "print a line per file")
	fs.DurationVar(&o.pollInterval, "poll-interval", time.Second, "how often to check on files being processed")
	fs.DurationVar(&o.every, "progress-interval", 10*time.Second, "how often to print a progress line when stderr is not a terminal")
	// flag stops at the first argument that is not a flag: parse again
	// after each path, so that flags may follow paths, until "--".
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			o.paths = append(o.paths, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		o.paths, args = append(o.paths, rest[0]), rest[1:]
	}
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
		known: map[string]*ragd.File{}, pending: map[string][]int{}, unsupported: map[string]int{}}
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

// pathFilter is the --include and --exclude globs.
type pathFilter struct{ include, exclude []string }

// add returns a flag.Func that appends a valid glob to list.
func (f *pathFilter) add(list *[]string) func(string) error {
	return func(glob string) error {
		if _, err := path.Match(glob, ""); err != nil {
			return fmt.Errorf("bad glob %q: %w", glob, err)
		}
		*list = append(*list, glob)
		return nil
	}
}

// matches reports whether a glob matches the file or directory at rel (its
// path under the walked root): by its name, or by rel for a glob with a /.
func matches(globs []string, rel string) bool {
	for _, g := range globs {
		target := path.Base(rel)
		if strings.Contains(g, "/") {
			target = rel
		}
		if ok, _ := path.Match(g, target); ok {
			return true
		}
	}
	return false
}

// skipDir reports whether the directory at rel is excluded.
func (f *pathFilter) skipDir(rel string) bool { return rel != "" && matches(f.exclude, rel) }

// skipFile reports whether the file at rel is excluded or, with includes,
// not included.
func (f *pathFilter) skipFile(rel string) bool {
	return matches(f.exclude, rel) || (len(f.include) > 0 && !matches(f.include, rel))
}

// walkPaths lists the regular files under roots, following symbolic links
// but visiting each directory once (so links cannot loop), and skipping
// names that start with a dot and what filter leaves out (a file named as
// a root is never left out). A root that does not exist is an error; a
// file or directory that cannot be read is an entry with err set.
func walkPaths(roots []string, filter *pathFilter) ([]entry, error) {
	var out []entry
	seen := map[string]bool{}
	for _, root := range roots {
		st, err := os.Stat(root)
		if err != nil {
			return nil, ragd.Invalid("path", "cannot ingest %s: %v", root, errors.Unwrap(err))
		}
		switch {
		case st.IsDir():
			out = walkDir(root, "", filter, seen, out)
		case st.Mode().IsRegular():
			out = append(out, entry{path: root, name: filepath.Base(root), size: st.Size()})
		default:
			return nil, ragd.Invalid("path", "cannot ingest %s: not a regular file or directory", root)
		}
	}
	return out, nil
}

// walkDir appends the files under dir, whose path under its root is rel.
func walkDir(dir, rel string, filter *pathFilter, seen map[string]bool, out []entry) []entry {
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
			if !filter.skipDir(r) {
				out = walkDir(p, r, filter, seen, out)
			}
		case st.Mode().IsRegular():
			if !filter.skipFile(r) {
				out = append(out, entry{path: p, name: r, size: st.Size()})
			}
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
	col      *ragd.Collection
	entries  []entry
	tmp      string // uncompressed .gz files, removed at the end

	mu       sync.Mutex
	known    map[string]*ragd.File // by sha256: the collection's files
	pending  map[string][]int      // by file id: entries waiting for it
	failures []failure
	// unsupported counts the skipped files of each type ragd cannot read,
	// by extension.
	unsupported map[string]int

	uploaded, skipped, completed, failed atomic.Int64
	unsupportedN                         atomic.Int64
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
	if r.entries, err = walkPaths(r.opts.paths, &r.opts.filter); err != nil {
		return err
	}
	if len(r.entries) == 0 {
		return ragd.Invalid("path", "no files found under %s (hidden files and those --include and --exclude leave out are skipped)", strings.Join(r.opts.paths, " "))
	}
	if r.tmp, err = os.MkdirTemp("", "ragd-ingest-"); err != nil {
		return err
	}
	defer os.RemoveAll(r.tmp)
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
	r.progress.stop(ctx.Err() != nil)
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
func (r *ingestRun) collection(ctx context.Context) (*ragd.Collection, error) {
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
	src, name, sum, err := r.prepare(i, buf)
	if src != e.path {
		defer os.Remove(src)
	}
	if err != nil {
		r.fail(failure{name: e.name, code: "unreadable", message: err.Error()})
		return
	}
	if _, err := extract.Detect(src, path.Base(name), ""); ragd.ErrorKind(err) == ragd.EUNSUPPORTED {
		r.skipUnsupported(i, name)
		return
	}
	r.mu.Lock()
	f := r.known[sum]
	r.mu.Unlock()
	if f != nil && f.Status == ragd.FileFailed && r.opts.retryFailed {
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
	f, created, err := r.c.UploadFile(ctx, r.col.ID, client.Upload{Path: src, Name: name, Metadata: meta,
		MaxTokens: r.opts.maxTokens, OverlapTokens: r.opts.overlapTokens})
	if ragd.ErrorKind(err) == ragd.EUNSUPPORTED { // the server may know fewer types than this binary
		r.skipUnsupported(i, name)
		return
	}
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

// prepare returns the file to upload for entry i, the name to upload it
// as, and its sha256: the entry itself, or for NAME.gz its uncompressed
// bytes in a temporary file (the caller removes it) uploaded as NAME.
func (r *ingestRun) prepare(i int, buf []byte) (src, name, sum string, err error) {
	e := &r.entries[i]
	if !strings.EqualFold(path.Ext(e.name), ".gz") {
		sum, err = hashFile(e.path, buf)
		return e.path, e.name, sum, err
	}
	name = e.name[:len(e.name)-len(".gz")]
	src = filepath.Join(r.tmp, strconv.Itoa(i))
	sum, err = gunzipFile(src, e.path, buf)
	return src, name, sum, err
}

// maxGunzipBytes bounds the uncompressed size of a .gz file, as the
// server bounds an upload.
const maxGunzipBytes = ingest.DefaultMaxFileBytes

// gunzipFile writes the uncompressed bytes of the gzip file from to a new
// file dst and returns their hex sha256.
func gunzipFile(dst, from string, buf []byte) (string, error) {
	in, err := os.Open(from)
	if err != nil {
		return "", err
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		return "", fmt.Errorf("not a gzip file: %w", err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(out, h), io.LimitReader(zr, maxGunzipBytes+1), buf)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > maxGunzipBytes {
		err = fmt.Errorf("uncompresses to more than %d bytes", maxGunzipBytes)
	}
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// skipUnsupported counts entry i, uploaded as name, as a type ragd cannot
// read: skipped, or with --fail-unsupported a failure.
func (r *ingestRun) skipUnsupported(i int, name string) {
	if r.opts.failUnsupported {
		r.fail(failure{name: r.entries[i].name, code: "unsupported_type", message: "ragd cannot read this type of file"})
		return
	}
	ext := strings.ToLower(path.Ext(name))
	if ext == "" {
		ext = "no extension"
	}
	r.unsupportedN.Add(1)
	r.mu.Lock()
	r.unsupported[ext]++
	r.mu.Unlock()
	if r.opts.verbose {
		r.progress.printf("unsupported %s (skipped)", r.entries[i].name)
	}
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
func (r *ingestRun) settle(i int, f *ragd.File, verb string) {
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
func (r *ingestRun) finish(i int, f *ragd.File) {
	if f.Status == ragd.FileCompleted {
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
				r.update(&ragd.File{ID: id, Status: ragd.FileFailed, Error: errDeleted})
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
			r.update(&ragd.File{ID: id, Status: ragd.FileFailed, Error: errDeleted})
		}
	default:
		r.doneID, r.doneN = "", 0
	}
}

// errDeleted is the failure of a file deleted while we waited for it.
var errDeleted = &ragd.FileError{Code: "deleted", Message: "the file was deleted before it was processed"}

// pollError reports a failed status check; the next round tries again.
func (r *ingestRun) pollError(ctx context.Context, err error) {
	if ctx.Err() == nil {
		r.progress.printf("checking file status failed (will retry): %v", err)
	}
}

// update settles the entries waiting for f if it is done.
func (r *ingestRun) update(f *ragd.File) {
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

// unfinished is the number of files neither completed, failed nor
// skipped as unsupported.
func (r *ingestRun) unfinished() int64 {
	return int64(len(r.entries)) - r.completed.Load() - r.failed.Load() - r.unsupportedN.Load()
}

// status returns how many files are done and the counts behind it.
func (r *ingestRun) status() (done int64, counts string) {
	return int64(len(r.entries)) - r.unfinished(), fmt.Sprintf("%d uploaded, %d skipped, %d unsupported, %d failed, %d processing",
		r.uploaded.Load(), r.skipped.Load(), r.unsupportedN.Load(), r.failed.Load(), r.pendingCount())
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
	fmt.Fprintf(w, "  unsupported %d%s\n", r.unsupportedN.Load(), r.unsupportedTypes())
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

// unsupportedTypes lists the skipped unsupported files by extension, most
// first: " (not ingested: .png 30, .svg 2)".
func (r *ingestRun) unsupportedTypes() string {
	if len(r.unsupported) == 0 {
		return ""
	}
	exts := slices.Collect(maps.Keys(r.unsupported))
	slices.SortFunc(exts, func(a, b string) int { return cmp.Or(r.unsupported[b]-r.unsupported[a], strings.Compare(a, b)) })
	parts := make([]string, len(exts))
	for i, ext := range exts {
		parts[i] = fmt.Sprintf("%s %d", ext, r.unsupported[ext])
	}
	return " (not ingested: " + strings.Join(parts, ", ") + ")"
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

	mu          sync.Mutex
	bar         *progressbar.ProgressBar
	quit        chan struct{}
	interrupted bool // set by stop before quit closes
	wg          sync.WaitGroup
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
				p.finish(total, status)
				return
			case <-t.C:
				p.render(total, status)
			}
		}
	})
}

// finish shows the final state: a full bar once every file is done, but
// after an interruption the bar stays where it is, and a line says how far
// the run got (a throttled bar may not have drawn the last numbers).
func (p *progress) finish(total int64, status func() (int64, string)) {
	if !p.interrupted {
		if p.bar != nil {
			p.render(total, status)
			p.bar.Finish()
			fmt.Fprintln(p.w)
		}
		return
	}
	if p.bar != nil {
		p.bar.Exit()
		fmt.Fprintln(p.w)
	}
	done, counts := status()
	fmt.Fprintf(p.w, "ingest: interrupted with %d/%d files done: %s\n", done, total, counts)
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

// stop ends the display, as interrupted or finished; start must have been
// called.
func (p *progress) stop(interrupted bool) {
	p.interrupted = interrupted
	close(p.quit)
	p.wg.Wait()
}
