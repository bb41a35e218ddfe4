// Command ragd-eval runs the benchmarks of package eval against a ragd
// and prints their tables, on the Python FAQ set of shared/eval/README.md
// and the held-out Debian FAQ set (-sets). Its tasks (-tasks) are
// retrieval (each answer one item, every model and mode, beside BM25),
// paraphrase (the hand-written paraphrases, in the same collections),
// document (each FAQ uploaded whole as a file, default model) and answer
// (ragd-extractive against the first three sentences of the top source,
// default model). -alpha sweeps hybrid search over a list of vector
// weights. With -url it measures a running ragd; without, it starts -ragd
// serve on a free port and a temporary data directory and stops it
// afterwards. Progress goes to stderr, tables to stdout:
//
//	ragd-eval -ragd bin/ragd
//	ragd-eval -sets pyfaq -tasks retrieval,paraphrase -models use-lite
//	ragd-eval -url http://127.0.0.1:8080 -key $RAGD_API_KEY -models glove-100d
//	ragd-eval -sets debfaq -tasks retrieval -modes hybrid -alpha 0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ragd/ragd/eval"
)

// tasks are the benchmark's tasks, in the order they run.
var tasks = []string{"retrieval", "paraphrase", "document", "answer"}

func main() {
	cache, _ := os.UserCacheDir()
	url := flag.String("url", "", "base URL of a running ragd; empty starts -ragd")
	key := flag.String("key", os.Getenv("RAGD_API_KEY"), "API key for -url (env RAGD_API_KEY)")
	bin := flag.String("ragd", "bin/ragd", "ragd binary to start when -url is empty")
	models := flag.String("models", "", "comma-separated embedding models of the retrieval and paraphrase tasks; empty: all that ragd lists")
	modes := flag.String("modes", "", "comma-separated search modes; empty: vector,keyword,hybrid")
	cacheDir := flag.String("cache", filepath.Join(cache, "ragd-eval"), "where the documentation packages are downloaded and unpacked")
	setList := flag.String("sets", "pyfaq,debfaq", "comma-separated question/answer sets: pyfaq (python3.11-doc), debfaq (debian-faq, held out)")
	taskList := flag.String("tasks", strings.Join(tasks, ","), "comma-separated tasks: "+strings.Join(tasks, ", "))
	alphaList := flag.String("alpha", "", "comma-separated hybrid vector weights 0..1 to sweep; empty: ragd's default")
	flag.Parse()

	setNames, taskNames := split(*setList), split(*taskList)
	for _, s := range setNames {
		if _, ok := sets[s]; !ok {
			log.Fatalf("unknown set %q in -sets: want pyfaq or debfaq", s)
		}
	}
	for _, t := range taskNames {
		if !slices.Contains(tasks, t) {
			log.Fatalf("unknown task %q in -tasks: want some of %s", t, strings.Join(tasks, ","))
		}
	}
	alphas, err := parseAlphas(*alphaList)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := eval.Config{BaseURL: *url, APIKey: *key, Models: split(*models), Modes: split(*modes), Alphas: alphas,
		Progress: func(format string, args ...any) { log.Printf(format, args...) }}
	if cfg.BaseURL == "" {
		shutdown, err := startRagd(ctx, *bin, &cfg)
		if err != nil {
			log.Fatal(err)
		}
		defer shutdown()
	}
	fmt.Printf("ragd-eval, %s\n", time.Now().UTC().Format(time.DateOnly))
	for _, name := range setNames {
		cfg.Set = name
		if err := runSet(ctx, cfg, *cacheDir, sets[name], taskNames); err != nil {
			log.Printf("%s: %v", name, err)
			return
		}
	}
}

// runSet runs the chosen tasks on one set and prints their tables.
func runSet(ctx context.Context, cfg eval.Config, cacheDir string, set set, chosen []string) error {
	pairs, err := set.load(ctx, cacheDir)
	if err != nil {
		return err
	}
	has := func(task string) bool { return slices.Contains(chosen, task) }
	if has("paraphrase") {
		ps, err := eval.Paraphrases()
		if err != nil {
			return err
		}
		if cfg.Paraphrases, err = eval.ParaphraseQueries(cfg.Set, pairs, ps); err != nil {
			return err
		}
	}
	if has("retrieval") || has("paraphrase") {
		rep, err := eval.Run(ctx, cfg, pairs)
		if err != nil {
			return err
		}
		fmt.Printf("\n## %s: retrieval, each answer one item\n\n", set.title)
		rep.WriteTable(os.Stdout)
	}
	if has("document") {
		docs, err := set.docs(ctx, cacheDir)
		if err != nil {
			return err
		}
		rep, err := eval.RunDocuments(ctx, cfg, docs, pairs)
		if err != nil {
			return err
		}
		fmt.Printf("\n## %s: documents uploaded whole, hit = a chunk holding the answer's first sentence\n\n", set.title)
		rep.WriteTable(os.Stdout)
	}
	if has("answer") {
		rep, err := eval.RunAnswers(ctx, cfg, pairs)
		if err != nil {
			return err
		}
		fmt.Printf("\n## %s: answers of %s against the gold answer\n\n", set.title, eval.AnswerModel)
		rep.WriteTable(os.Stdout)
	}
	return nil
}

// set is a question/answer set -sets chooses from.
type set struct {
	title string
	load  func(context.Context, string) ([]eval.Pair, error)
	docs  func(context.Context, string) ([]eval.Doc, error)
}

// sets are the sets by name.
var sets = map[string]set{
	"pyfaq":  {"Python FAQ", eval.LoadPythonFAQ, eval.LoadPythonFAQDocs},
	"debfaq": {"Debian FAQ (held out)", eval.LoadDebianFAQ, eval.LoadDebianFAQDocs},
}

// parseAlphas reads a comma-separated list of weights in 0..1.
func parseAlphas(s string) ([]float64, error) {
	var out []float64
	for _, f := range split(s) {
		a, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || a < 0 || a > 1 {
			return nil, fmt.Errorf("-alpha: %q is not a number in 0..1", f)
		}
		out = append(out, a)
	}
	return out, nil
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// startRagd runs "bin serve" on a free local port and a temporary data
// directory with a fresh admin key, waits until /healthz answers, and
// fills in cfg's URL and key. The returned function stops it and removes
// the directory.
func startRagd(ctx context.Context, bin string, cfg *eval.Config) (func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	dir, err := os.MkdirTemp("", "ragd-eval-")
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	cfg.BaseURL, cfg.APIKey = "http://"+addr, "sk-eval-"+hex.EncodeToString(secret)
	// The benchmark measures retrieval, not the default rate limit.
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data-dir", dir, "--rate-limit-tier", "unlimited", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "RAGD_ADMIN_KEY="+cfg.APIKey)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	shutdown := func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(dir)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(cfg.BaseURL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return shutdown, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			shutdown()
			return nil, fmt.Errorf("%s serve did not become healthy at %s", bin, addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
