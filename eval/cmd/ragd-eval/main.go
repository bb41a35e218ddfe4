// Command ragd-eval runs the retrieval-quality benchmark of package eval
// (the Python FAQ set of shared/eval/README.md, or the held-out Debian FAQ
// set with -set debfaq) against a ragd and prints the table. -alpha sweeps
// hybrid search over a list of vector weights. With -url it measures a running ragd; without, it starts
// -ragd serve on a free port and a temporary data directory and stops it
// afterwards:
//
//	ragd-eval -ragd bin/ragd
//	ragd-eval -url http://127.0.0.1:8080 -key $RAGD_API_KEY -models glove-100d
//	ragd-eval -set debfaq -modes hybrid -alpha 0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1
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
	"strconv"
	"strings"
	"time"

	"github.com/ragd/ragd/eval"
)

func main() {
	cache, _ := os.UserCacheDir()
	url := flag.String("url", "", "base URL of a running ragd; empty starts -ragd")
	key := flag.String("key", os.Getenv("RAGD_API_KEY"), "API key for -url (env RAGD_API_KEY)")
	bin := flag.String("ragd", "bin/ragd", "ragd binary to start when -url is empty")
	models := flag.String("models", "", "comma-separated embedding models; empty: all that ragd lists")
	modes := flag.String("modes", "", "comma-separated search modes; empty: vector,keyword,hybrid")
	cacheDir := flag.String("cache", filepath.Join(cache, "ragd-eval"), "where the documentation packages are downloaded and unpacked")
	setName := flag.String("set", "pyfaq", "question/answer set: pyfaq (python3.11-doc) or debfaq (debian-faq, held out)")
	alphaList := flag.String("alpha", "", "comma-separated hybrid vector weights 0..1 to sweep; empty: ragd's default")
	flag.Parse()

	set, ok := sets[*setName]
	if !ok {
		log.Fatalf("unknown -set %q: want pyfaq or debfaq", *setName)
	}
	alphas, err := parseAlphas(*alphaList)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	pairs, err := set.load(ctx, *cacheDir)
	if err != nil {
		log.Fatal(err)
	}
	cfg := eval.Config{BaseURL: *url, APIKey: *key, Models: split(*models), Modes: split(*modes), Alphas: alphas, Set: *setName}
	if cfg.BaseURL == "" {
		shutdown, err := startRagd(ctx, *bin, &cfg)
		if err != nil {
			log.Fatal(err)
		}
		defer shutdown()
	}
	rep, err := eval.Run(ctx, cfg, pairs)
	if err != nil {
		log.Print(err)
		return
	}
	fmt.Printf("%s retrieval benchmark, %s\n\n", set.title, time.Now().UTC().Format(time.DateOnly))
	rep.WriteTable(os.Stdout)
}

// sets are the question/answer sets -set chooses from.
var sets = map[string]struct {
	title string
	load  func(context.Context, string) ([]eval.Pair, error)
}{
	"pyfaq":  {"Python FAQ", eval.LoadPythonFAQ},
	"debfaq": {"Debian FAQ (held out)", eval.LoadDebianFAQ},
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
