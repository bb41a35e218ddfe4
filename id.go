package ragd

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"time"
)

// idEncoding is base32 without the letters easily misread (i, l, o, u),
// lower case so that IDs read well in URLs.
var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns an identifier with the given prefix, such as
// "item_01jf3...": 20 characters of base32 holding the time in
// milliseconds (48 bits, as ULIDs and UUIDv7 do) then 52 random bits, so
// that IDs made later sort after those made before (the alphabet is in
// ASCII order). Rows written together then sit together in every index
// keyed by ID, where random IDs scattered a batch of 1000 items over as
// many pages of each index, all rewritten at its commit; 52 random bits a
// millisecond make collisions practically impossible.
func NewID(prefix string) string { return newIDAt(prefix, time.Now()) }

// newIDAt is NewID at time t.
func newIDAt(prefix string, t time.Time) string {
	var b [13]byte
	if _, err := rand.Read(b[6:]); err != nil {
		panic(err)
	}
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(t.UnixMilli()))
	copy(b[:6], ms[2:])
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
