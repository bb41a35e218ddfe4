// Package retry holds what every retry loop of ragd shares: one backoff
// policy, one Retry-After parser and a sleep that ends with its context.
// The model providers' client (upstream), the Go API client, webhook
// deliveries and ingest jobs all use it, so that they space their retries
// the same way and read Retry-After the same way. It needs only the
// standard library and no cgo, so that the API client can use it too.
package retry

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff is an exponential backoff with "equal jitter": retry n (from 1)
// waits between half and all of min(Base*2^(n-1), Max). The random half
// keeps clients that failed together from all coming back together; the
// fixed half keeps every wait at least half of the nominal one, so a
// failing server still gets the doubling pauses it needs to recover.
// The zero Jitter draws from math/rand/v2.
type Backoff struct {
	// Base is the nominal wait before the first retry.
	Base time.Duration
	// Max caps the nominal wait, however many retries came before.
	Max time.Duration
	// Jitter returns a number in [0, 1) that picks the wait within its
	// range; nil means rand.Float64. Tests set it to make waits exact.
	Jitter func() float64
}

// Delay returns the wait before retry n, from 1; an n below 1 counts as 1.
// It never overflows, however large n is.
func (b Backoff) Delay(n int) time.Duration {
	d := b.Max
	// Base<<s fits within Max exactly when Base <= Max>>s; past 62 doublings
	// no positive Base does.
	if s := max(n, 1) - 1; s < 63 && b.Base <= b.Max>>s {
		d = b.Base << s
	}
	jitter := b.Jitter
	if jitter == nil {
		jitter = rand.Float64
	}
	return d/2 + time.Duration(jitter()*float64(d-d/2))
}

// ParseRetryAfter reads a Retry-After header (RFC 9110, section 10.2.3):
// delta-seconds, or an HTTP-date, which is read relative to now so that
// callers with an injected clock get exact waits. A date in the past is a
// wait of 0. A number of seconds too large for a time.Duration gives the
// largest one, for the caller to compare with its own limit. It returns
// false when the header is empty, negative or unreadable.
func ParseRetryAfter(header string, now time.Time) (time.Duration, bool) {
	header = strings.TrimSpace(header)
	if header == "" {
		return 0, false
	}
	// Past int64, ParseInt fails with ErrRange and the int64 nearest the
	// number, which still has its sign.
	if secs, err := strconv.ParseInt(header, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		switch {
		case secs < 0:
			return 0, false
		case secs > int64(math.MaxInt64/time.Second):
			return math.MaxInt64, true
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(header); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Sleep waits d or until ctx is done, returning ctx.Err() then.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
