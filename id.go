package ragd

import (
	"crypto/rand"
	"encoding/base32"
)

// idEncoding is base32 without the letters easily misread (i, l, o, u),
// lower case so that IDs read well in URLs.
var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a random identifier with the given prefix, such as
// "col_8w2k...". 100 random bits make collisions practically impossible.
func NewID(prefix string) string {
	var b [13]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + "_" + idEncoding.EncodeToString(b[:])[:20]
}

// NewKeySecret returns a new API key secret: KeyPrefix and 256 random
// bits, which is why a plain SHA-256 (HashSecret) stores it safely.
func NewKeySecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return KeyPrefix + idEncoding.EncodeToString(b[:])
}
