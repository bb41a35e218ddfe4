package ragd

import (
	"crypto/sha256"
	"encoding/hex"
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
