package webhook

import (
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ragd/ragd"
)

// Prepare checks a new endpoint w: an absolute http or https URL, not
// naming an address d refuses (a hostname is checked on every delivery,
// on the addresses it resolves to), at least one known event, and a
// secret of at least 16 characters if it has one. It sorts w's events,
// drops repeats, and gives w a generated secret when it has none.
func (d Destinations) Prepare(w *ragd.Webhook) error {
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ragd.Invalid("url", "url must be an absolute http or https URL, got %q", RedactURL(w.URL))
	}
	if addr, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil {
		if err := d.Check(addr); err != nil {
			return ragd.Invalid("url", "url: %v", err)
		}
	}
	if len(w.Events) == 0 {
		return ragd.Invalid("events", "events must list at least one of: %s", strings.Join(EventTypes, ", "))
	}
	for i, ev := range w.Events {
		if !slices.Contains(EventTypes, ev) {
			return ragd.Invalid("events["+strconv.Itoa(i)+"]", "unknown event %q; use %s", ev, strings.Join(EventTypes, ", "))
		}
	}
	if w.Secret != "" && len(w.Secret) < 16 {
		return ragd.Invalid("secret", "secret must be at least 16 characters; omit it to get a generated one")
	}
	if w.Secret == "" {
		w.Secret = newSecret()
	}
	w.Events = slices.Compact(slices.Sorted(slices.Values(w.Events)))
	return nil
}

// newSecret returns a random signing secret.
func newSecret() string {
	var b [24]byte
	rand.Read(b[:])
	return "whsec_" + hex.EncodeToString(b[:])
}
