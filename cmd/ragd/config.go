package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/embed/uselite"
	"github.com/ragd/ragd/media"
	"github.com/ragd/ragd/rag"
	"github.com/ragd/ragd/rerank"
	"gopkg.in/yaml.v3"
)

// fileConfig is the optional config file (--config ragd.yaml).
type fileConfig struct {
	Chat struct {
		DefaultModel string               `yaml:"default_model"`
		Providers    []chatProviderConfig `yaml:"providers"`
	} `yaml:"chat"`
	Embedding struct {
		DefaultModel string                `yaml:"default_model"`
		Providers    []embedProviderConfig `yaml:"providers"`
	} `yaml:"embedding"`
	Rerank struct {
		Providers []rerankProviderConfig `yaml:"providers"`
	} `yaml:"rerank"`
}

// rerankProviderConfig is a remote rerank provider in the config file.
type rerankProviderConfig struct {
	Name       string              `yaml:"name"`
	Type       string              `yaml:"type"` // cohere (default) or tei
	BaseURL    string              `yaml:"base_url"`
	APIKeyEnv  string              `yaml:"api_key_env"`
	Timeout    time.Duration       `yaml:"timeout"`
	BatchSize  int                 `yaml:"batch_size"`
	MaxRetries *int                `yaml:"max_retries"`
	Models     []rerankModelConfig `yaml:"models"`
}

// rerankModelConfig is one remote rerank model.
type rerankModelConfig struct {
	ID    string     `yaml:"id"`
	Price ragd.Price `yaml:"price"`
}

// providerKey returns the API key of a remote provider of kind ("rerank",
// "embedding"): envKey's value for the provider made from environment
// variables (named "env"), else the variable the config file names, which
// must not be empty; no variable means no key.
func providerKey(kind, name, apiKeyEnv, envKey string) (string, error) {
	switch {
	case name == "env":
		return os.Getenv(envKey), nil
	case apiKeyEnv != "":
		if key := os.Getenv(apiKeyEnv); key != "" {
			return key, nil
		}
		return "", fmt.Errorf("%s provider %q: environment variable %s is empty", kind, name, apiKeyEnv)
	}
	return "", nil
}

// retriesOr is a provider's max_retries, 3 when the config file leaves it
// out (0 is a valid setting: no retry).
func retriesOr(n *int) int {
	if n == nil {
		return 3
	}
	return *n
}

// rerankers builds the rerank models: the built-in one, then those of the
// config file and of RAGD_RERANK_BASE_URL, RAGD_RERANK_TYPE,
// RAGD_RERANK_API_KEY and RAGD_RERANK_MODELS (one of which may take the
// built-in's name and replace it).
func rerankers(fc *fileConfig) (*rerank.Registry, error) {
	enc, err := uselite.New()
	if err != nil {
		return nil, err
	}
	out := []rerank.Reranker{rerank.NewLite(enc)}
	providers := fc.Rerank.Providers
	if base := os.Getenv("RAGD_RERANK_BASE_URL"); base != "" {
		p := rerankProviderConfig{Name: "env", Type: os.Getenv("RAGD_RERANK_TYPE"), BaseURL: base}
		for _, m := range splitList(os.Getenv("RAGD_RERANK_MODELS")) {
			p.Models = append(p.Models, rerankModelConfig{ID: m})
		}
		if len(p.Models) == 0 {
			return nil, fmt.Errorf("RAGD_RERANK_BASE_URL is set but RAGD_RERANK_MODELS names no model")
		}
		providers = append(providers, p)
	}
	for _, p := range providers {
		key, err := providerKey("rerank", p.Name, p.APIKeyEnv, "RAGD_RERANK_API_KEY")
		if err != nil {
			return nil, err
		}
		retries := retriesOr(p.MaxRetries)
		if len(p.Models) == 0 {
			return nil, fmt.Errorf("rerank provider %q lists no models", p.Name)
		}
		for _, m := range p.Models {
			rc := rerank.RemoteConfig{BaseURL: p.BaseURL, APIKey: key, Model: m.ID, BatchSize: p.BatchSize, Timeout: p.Timeout, MaxRetries: retries}
			var r rerank.Reranker
			var err error
			switch p.Type {
			case "", "cohere":
				r, err = rerank.NewCohere(rc)
			case "tei":
				r, err = rerank.NewTEI(rc)
			default:
				err = fmt.Errorf("unknown type %q; use cohere or tei", p.Type)
			}
			if err != nil {
				return nil, fmt.Errorf("rerank provider %q model %q: %w", p.Name, m.ID, err)
			}
			out = append(out, r)
		}
	}
	return rerank.NewRegistry(out...), nil
}

// embedProviderConfig is a remote embedding provider in the config file.
type embedProviderConfig struct {
	Name       string             `yaml:"name"`
	Type       string             `yaml:"type"` // openai (default) or ollama
	BaseURL    string             `yaml:"base_url"`
	APIKeyEnv  string             `yaml:"api_key_env"`
	Timeout    time.Duration      `yaml:"timeout"`
	BatchSize  int                `yaml:"batch_size"`
	MaxRetries *int               `yaml:"max_retries"`
	Models     []embedModelConfig `yaml:"models"`
}

// embedModelConfig is one remote embedding model.
type embedModelConfig struct {
	ID             string     `yaml:"id"`
	Dimensions     int        `yaml:"dimensions"`
	MaxInputTokens int        `yaml:"max_input_tokens"`
	Price          ragd.Price `yaml:"price"`
}

// remoteEmbedders builds the remote embedding models of the config file
// and of RAGD_EMBED_BASE_URL, RAGD_EMBED_API_KEY and RAGD_EMBED_MODELS.
// A model whose dimensions are not configured is asked once at start.
func remoteEmbedders(ctx context.Context, fc *fileConfig) ([]embed.Embedder, error) {
	providers := fc.Embedding.Providers
	if base := os.Getenv("RAGD_EMBED_BASE_URL"); base != "" {
		p := embedProviderConfig{Name: "env", Type: "openai", BaseURL: base}
		for _, m := range splitList(os.Getenv("RAGD_EMBED_MODELS")) {
			p.Models = append(p.Models, embedModelConfig{ID: m})
		}
		if len(p.Models) == 0 {
			return nil, fmt.Errorf("RAGD_EMBED_BASE_URL is set but RAGD_EMBED_MODELS names no model")
		}
		providers = append(providers, p)
	}
	var out []embed.Embedder
	for _, p := range providers {
		key, err := providerKey("embedding", p.Name, p.APIKeyEnv, "RAGD_EMBED_API_KEY")
		if err != nil {
			return nil, err
		}
		retries := retriesOr(p.MaxRetries)
		for _, m := range p.Models {
			rc := embed.RemoteConfig{BaseURL: p.BaseURL, APIKey: key, Model: m.ID, Dimensions: m.Dimensions,
				MaxInputTokens: m.MaxInputTokens, BatchSize: p.BatchSize, Timeout: p.Timeout, MaxRetries: retries}
			var e interface {
				embed.Embedder
				Probe(context.Context) error
			}
			var err error
			switch p.Type {
			case "", "openai":
				e, err = embed.NewOpenAI(rc)
			case "ollama":
				e, err = embed.NewOllama(rc)
			default:
				err = fmt.Errorf("unknown type %q; use openai or ollama", p.Type)
			}
			if err != nil {
				return nil, fmt.Errorf("embedding provider %q model %q: %w", p.Name, m.ID, err)
			}
			if m.Dimensions == 0 {
				pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				err := e.Probe(pctx)
				cancel()
				if err != nil {
					return nil, fmt.Errorf("embedding model %q: set its dimensions in the config or make %s reachable: %w", m.ID, p.BaseURL, err)
				}
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// chatProviderConfig is a chat provider as written in the config file:
// its key is named by an environment variable, never written inline. Its
// models are chat models unless their kind says otherwise (speech,
// transcription, image, video, music): an OpenAI-compatible server
// usually serves several kinds with one base URL and key.
type chatProviderConfig struct {
	Name      string                `yaml:"name"`
	Type      string                `yaml:"type"`
	BaseURL   string                `yaml:"base_url"`
	APIKeyEnv string                `yaml:"api_key_env"`
	Timeout   time.Duration         `yaml:"timeout"`
	Models    []providerModelConfig `yaml:"models"`
}

// providerModelConfig is a model of a chat provider: a chat model's
// settings, or a media model's kind and voices.
type providerModelConfig struct {
	rag.ModelConfig `yaml:",inline"`
	// Kind is chat (the default) or a media.Kind.
	Kind string `yaml:"kind"`
	// Voices are a speech model's voices.
	Voices []string `yaml:"voices"`
}

// apiKey returns the value of the variable the provider's api_key_env
// names, which must not be empty; none means no key.
func (p chatProviderConfig) apiKey() (string, error) {
	if p.APIKeyEnv == "" {
		return "", nil
	}
	if key := os.Getenv(p.APIKeyEnv); key != "" {
		return key, nil
	}
	return "", fmt.Errorf("chat provider %q: environment variable %s is empty", p.Name, p.APIKeyEnv)
}

// mediaConfig builds the media router's config from the models of the
// file's chat providers whose kind is not chat.
func mediaConfig(fc *fileConfig) (media.Config, error) {
	var cfg media.Config
	for _, p := range fc.Chat.Providers {
		pc := media.ProviderConfig{Name: p.Name, BaseURL: p.BaseURL, Timeout: p.Timeout}
		for _, m := range p.Models {
			if m.Kind != "" && m.Kind != "chat" {
				pc.Models = append(pc.Models, media.ModelConfig{ID: m.ID, Upstream: m.Upstream, Kind: media.Kind(m.Kind), Voices: m.Voices})
			}
		}
		if len(pc.Models) == 0 {
			continue
		}
		var err error
		if pc.APIKey, err = p.apiKey(); err != nil {
			return cfg, err
		}
		cfg.Providers = append(cfg.Providers, pc)
	}
	return cfg, nil
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
		pc := rag.ProviderConfig{Name: p.Name, Type: p.Type, BaseURL: p.BaseURL, Timeout: p.Timeout}
		for _, m := range p.Models {
			if m.Kind == "" || m.Kind == "chat" {
				pc.Models = append(pc.Models, m.ModelConfig)
			}
		}
		if len(pc.Models) == 0 && len(p.Models) > 0 {
			continue // a provider of media models only
		}
		var err error
		if pc.APIKey, err = p.apiKey(); err != nil {
			return cfg, err
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

// prices collects the price of every chat, embedding and rerank model of
// the config file, by model id. It fails on a negative price and on a
// model id priced twice.
func prices(fc *fileConfig) (map[string]ragd.Price, error) {
	out := map[string]ragd.Price{}
	add := func(kind, id string, p ragd.Price) error {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("%s model %q: %w", kind, id, err)
		}
		if _, dup := out[id]; dup {
			return fmt.Errorf("%s model %q: another model of that id has a price already", kind, id)
		}
		if p != (ragd.Price{}) {
			out[id] = p
		}
		return nil
	}
	var err error
	for _, p := range fc.Chat.Providers {
		for _, m := range p.Models {
			err = errors.Join(err, add("chat", m.ID, m.Price))
		}
	}
	for _, p := range fc.Embedding.Providers {
		for _, m := range p.Models {
			err = errors.Join(err, add("embedding", m.ID, m.Price))
		}
	}
	for _, p := range fc.Rerank.Providers {
		for _, m := range p.Models {
			err = errors.Join(err, add("rerank", m.ID, m.Price))
		}
	}
	return out, err
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
