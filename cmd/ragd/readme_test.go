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
