package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/ragd/ragd/rag"
	"gopkg.in/yaml.v3"
)

// fileConfig is the optional config file (--config ragd.yaml).
type fileConfig struct {
	Chat struct {
		DefaultModel string               `yaml:"default_model"`
		Providers    []chatProviderConfig `yaml:"providers"`
	} `yaml:"chat"`
}

// chatProviderConfig is a chat provider as written in the config file:
// its key is named by an environment variable, never written inline.
type chatProviderConfig struct {
	rag.ProviderConfig `yaml:",inline"`
	APIKeyEnv          string `yaml:"api_key_env"`
}

// loadConfig reads the config file at path; an empty path is no file.
func loadConfig(path string) (*fileConfig, error) {
	cfg := &fileConfig{}
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// chatConfig builds the chat router's config from the file and, for the
// one-upstream case, RAGD_CHAT_BASE_URL, RAGD_CHAT_API_KEY and
// RAGD_CHAT_MODELS.
func chatConfig(fc *fileConfig) (rag.Config, error) {
	cfg := rag.Config{DefaultModel: fc.Chat.DefaultModel}
	for _, p := range fc.Chat.Providers {
		pc := p.ProviderConfig
		if p.APIKeyEnv != "" {
			pc.APIKey = os.Getenv(p.APIKeyEnv)
			if pc.APIKey == "" {
				return cfg, fmt.Errorf("chat provider %q: environment variable %s is empty", pc.Name, p.APIKeyEnv)
			}
		}
		cfg.Providers = append(cfg.Providers, pc)
	}
	if base := os.Getenv("RAGD_CHAT_BASE_URL"); base != "" {
		models := splitList(os.Getenv("RAGD_CHAT_MODELS"))
		if len(models) == 0 {
			return cfg, fmt.Errorf("RAGD_CHAT_BASE_URL is set but RAGD_CHAT_MODELS names no model")
		}
		pc := rag.ProviderConfig{Name: "env", Type: "openai", BaseURL: base, APIKey: os.Getenv("RAGD_CHAT_API_KEY")}
		for _, m := range models {
			pc.Models = append(pc.Models, rag.ModelConfig{ID: m})
		}
		cfg.Providers = append(cfg.Providers, pc)
	}
	return cfg, nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
