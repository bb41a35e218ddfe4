package ragd

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// Key is an API key. Its secret is shown once, at creation, and stored
// only as a SHA-256 hash.
type Key struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Workspace string `json:"workspace"`
	Admin     bool   `json:"admin"`
	RPM       int    `json:"rpm"`
	TPM       int    `json:"tpm"`
	Created   int64  `json:"created"`
	// Secret is set only on the Key returned by CreateKey.
	Secret string `json:"secret,omitempty"`
}

// Validate checks what a client chooses of a new key: its name, its
// workspace's name and its limits (0 is the default tier).
func (k *Key) Validate() error {
	if strings.TrimSpace(k.Name) == "" {
		return Invalid("name", "name is required: say who or what the key is for")
	}
	if len(k.Name) > MaxNameBytes {
		return Invalid("name", "name must be at most %d bytes, got %d", MaxNameBytes, len(k.Name))
	}
	if err := ValidateText("name", k.Name, false); err != nil {
		return err
	}
	if !workspaceName.MatchString(k.Workspace) {
		return Invalid("workspace", "workspace names use letters, digits, '.', '_', ':' and '-', up to 64 characters")
	}
	if k.RPM < 0 {
		return Invalid("rpm", "rpm must be 0 (the default tier) or positive")
	}
	if k.TPM < 0 {
		return Invalid("tpm", "tpm must be 0 (the default tier) or positive")
	}
	return nil
}

// workspaceName matches the names a workspace may have.
var workspaceName = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// KeyPrefix starts every ragd API key secret.
const KeyPrefix = "ragd-"

// HashSecret returns the stored form of a key secret. Secrets are 256
// random bits, so a plain SHA-256 is as strong as a slow hash here.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Workspace is a tenant: keys, collections and everything in them belong
// to exactly one.
type Workspace struct {
	Name    string `json:"name"`
	Created int64  `json:"created"`
}

// DefaultWorkspace is the workspace of keys created without one.
const DefaultWorkspace = "default"
