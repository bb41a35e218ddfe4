package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestChatConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ragd.yaml")
	os.WriteFile(path, []byte(`chat:
  default_model: gpt-4o-mini
  providers:
    - name: openai
      type: openai
      base_url: https://api.example.test/v1
      api_key_env: TEST_UPSTREAM_KEY
      models:
        - id: gpt-4o-mini
          fallback: [llama3.1]
    - name: local
      base_url: http://127.0.0.1:11434/v1
      models:
        - id: llama3.1
          context_window: 32768
`), 0o600)
	t.Setenv("TEST_UPSTREAM_KEY", "sk-from-env")
	fc, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := chatConfig(fc)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Providers) != 2 || cfg.Providers[0].APIKey != "sk-from-env" || cfg.DefaultModel != "gpt-4o-mini" ||
		cfg.Providers[0].Models[0].Fallback[0] != "llama3.1" || cfg.Providers[1].Models[0].ContextWindow != 32768 {
		t.Fatalf("config %+v", cfg)
	}
	t.Setenv("TEST_UPSTREAM_KEY", "")
	if _, err := chatConfig(fc); err == nil || !strings.Contains(err.Error(), "TEST_UPSTREAM_KEY") {
		t.Fatalf("empty key env: %v", err)
	}
	os.WriteFile(path, []byte("chat:\n  providers:\n    - name: x\n      api_key: inline-secret\n"), 0o600)
	if _, err := loadConfig(path); err == nil {
		t.Fatal("an inline api_key was accepted; keys come only from the environment")
	}
}
