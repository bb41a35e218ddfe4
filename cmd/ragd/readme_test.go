package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// quickstart returns the commands of the README's Quickstart shell block,
// with continuation lines joined and comments dropped.
func quickstart(t *testing.T) []string {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(data), "## Quickstart")
	if !ok {
		t.Fatal("README has no Quickstart section")
	}
	_, block, _ := strings.Cut(after, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	var cmds []string
	cur := ""
	for _, line := range strings.Split(block, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") || strings.TrimSpace(line) == "" {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		cmds = append(cmds, cur+line)
		cur = ""
	}
	return cmds
}

// The README's curl examples work as written against a real server.
func TestREADMEQuickstart(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed to check the README's examples (CI installs it)")
	}
	url, out, stop := startMain(t, t.TempDir(), map[string]string{"RAGD_ADMIN_KEY": ""})
	defer stop()
	key := keyPattern.FindString(out.String())
	cmds := quickstart(t)
	if len(cmds) < 6 {
		t.Fatalf("found only %d commands in the Quickstart: %q", len(cmds), cmds)
	}
	var last map[string]any
	for _, c := range cmds {
		if strings.HasPrefix(c, "export RAGD_KEY=") {
			continue
		}
		c = strings.ReplaceAll(c, "http://127.0.0.1:8080", url)
		cmd := exec.Command("bash", "-c", c)
		cmd.Dir = "../.." // the README's paths are relative to the repository
		cmd.Env = append(os.Environ(), "RAGD_KEY="+key)
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		last = nil
		if err := json.Unmarshal(got, &last); err != nil || last["error"] != nil {
			t.Fatalf("%s\nanswered %s", c, got)
		}
	}
	// The last example is the RAG question; its answer quotes the backup item.
	content := last["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string)
	if !strings.Contains(content, "ragd backup") {
		t.Fatalf("RAG answer %q does not quote the backup item", content)
	}
}

// The README opens with `make run` and `make test` and names right after
// them what a fresh machine needs, through the same `make deps` that CI
// calls, so the list of packages lives in one place.
func TestREADMEPrerequisites(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(data), "```sh\n")
	block, rest, _ := strings.Cut(rest, "```\n")
	var cmds []string
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		cmd, _, _ := strings.Cut(line, "#")
		cmds = append(cmds, strings.TrimSpace(cmd))
	}
	if strings.Join(cmds, ";") != "make run;make test" {
		t.Errorf("README opens with %q, want make run and make test", cmds)
	}
	if next := strings.TrimSpace(rest); !strings.HasPrefix(next, "Prerequisites:") || !strings.Contains(strings.SplitN(next, "\n\n", 2)[0], "`make deps`") {
		t.Errorf("the paragraph after the opening commands does not name `make deps`: %.200q", next)
	}

	cmd := exec.Command("make", "-n", "deps")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n deps: %v\n%s", err, out)
	}
	// What the test suite runs besides Go: the C compiler and SQLite's
	// header for cgo, pdftotext as the PDF oracle, curl for the README,
	// Node.js and npm for the OpenAI Node SDK tests and the console's
	// browser tests, Chromium for the latter.
	for _, pkg := range []string{"gcc", "libc6-dev", "libsqlite3-dev", "poppler-utils", "curl", "nodejs", "npm", "chromium"} {
		if !strings.Contains(string(out), "apt-get install") || !strings.Contains(string(out), " "+pkg) {
			t.Errorf("make deps does not install %s:\n%s", pkg, out)
		}
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "\nmake deps\n") || strings.Contains(string(ci), "apt-get") {
		t.Errorf(".ci/run keeps its own package list instead of calling make deps:\n%s", ci)
	}
}
