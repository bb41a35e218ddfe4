package server

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
)

// Tier is a rate limit: requests and tokens per minute. A limit of 0 or
// less is no limit.
type Tier struct {
	Name string
	RPM  int
	TPM  int
}

// Tiers is the table of named default tiers (seed 000's plans, plus no
// limit). A key whose rpm or tpm is 0 gets the server's default tier.
var Tiers = []Tier{
	{Name: "free", RPM: 10, TPM: 100_000},
	{Name: "pro", RPM: 100, TPM: 1_000_000},
	{Name: "team", RPM: 500, TPM: 10_000_000},
	{Name: "unlimited"},
}

// DefaultTier is the default tier of a self-hosted install: generous
// enough for an application's own traffic, still a brake on a runaway
// client.
const DefaultTier = "team"

// TierByName returns the named tier of Tiers, or EINVALID.
func TierByName(name string) (Tier, error) {
	for _, t := range Tiers {
		if t.Name == name {
			return t, nil
		}
	}
	return Tier{}, ragd.Invalid("tier", "unknown rate limit tier %q; use free, pro, team or unlimited", name)
}

// bucket is a token bucket holding up to size, refilled at size per
// minute. Unlike golang.org/x/time/rate's limiter, what was taken can be
// settled afterwards for a different amount, in either direction: a
// request reserves its estimated tokens before it runs and is charged its
// real use when it ends.
type bucket struct {
	mu    sync.Mutex
	size  float64
	level float64 // may fall below 0 when a request used more than it reserved
	at    time.Time
}

// newBucket returns a full bucket of n a minute, or nil for no limit.
func newBucket(n int, now time.Time) *bucket {
	if n <= 0 {
		return nil
	}
	return &bucket{size: float64(n), level: float64(n), at: now}
}

// refill adds what flowed in since the last call; b.mu is held.
func (b *bucket) refill(now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.level = min(b.size, b.level+d.Minutes()*b.size)
		b.at = now
	}
}

// take removes n if the bucket holds them and returns 0, or else takes
// nothing and returns how long until it holds n (n is at most the size).
func (b *bucket) take(now time.Time, n int) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	if b.level >= float64(n) {
		b.level -= float64(n)
		return 0
	}
	return b.until(float64(n))
}

// give puts n back (a negative n takes more), never above the size.
func (b *bucket) give(now time.Time, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	b.level = min(b.size, b.level+float64(n))
}

// state returns what the bucket holds and how long until it is full.
func (b *bucket) state(now time.Time) (remaining int, untilFull time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	return max(0, int(b.level)), b.until(b.size)
}

// until returns how long until the bucket holds want, rounded up so that
// a wait is never 0; b.mu is held.
func (b *bucket) until(want float64) time.Duration {
	if b.level >= want {
		return 0
	}
	return time.Duration(math.Ceil((want - b.level) / b.size * float64(time.Minute)))
}

// keyLimiter holds the buckets of one key.
type keyLimiter struct {
	rpm, tpm int
	requests *bucket // nil: no request limit
	tokens   *bucket // nil: no token limit
}

// rateLimiter keeps a keyLimiter per key.
type rateLimiter struct {
	def Tier
	now func() time.Time
	// share, in a cluster, is how many nodes serve: each enforces that
	// share of a key's limits, so that requests a load balancer spreads
	// over the nodes meet the key's limits in total, without a shared
	// counter on every request's path. nil: one node, the whole limits.
	share func() int
	mu    sync.Mutex
	keys  map[string]*keyLimiter
}

func newRateLimiter(def Tier, now func() time.Time) *rateLimiter {
	return &rateLimiter{def: def, now: now, keys: map[string]*keyLimiter{}}
}

// limiter returns the buckets of k, made afresh when its limits changed.
func (r *rateLimiter) limiter(k *ragd.Key) *keyLimiter {
	rpm, tpm := k.RPM, k.TPM
	if rpm == 0 {
		rpm = r.def.RPM
	}
	if tpm == 0 {
		tpm = r.def.TPM
	}
	if r.share != nil {
		n := max(1, r.share())
		rpm, tpm = ceilDiv(rpm, n), ceilDiv(tpm, n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.keys[k.ID]
	if l == nil || l.rpm != rpm || l.tpm != tpm {
		now := r.now()
		l = &keyLimiter{rpm: rpm, tpm: tpm, requests: newBucket(rpm, now), tokens: newBucket(tpm, now)}
		r.keys[k.ID] = l
	}
	return l
}

// ceilDiv returns a/n rounded up, for a limit's share (0, no limit, stays
// 0).
func ceilDiv(a, n int) int { return (a + n - 1) / n }

// seconds rounds a wait up to whole seconds, for Retry-After.
func seconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// rateLimitError is the 429 of a spent limit; it sets Retry-After.
func rateLimitError(c echo.Context, what string, limit, retry int) error {
	c.Response().Header().Set("Retry-After", strconv.Itoa(retry))
	return &ragd.Error{Kind: ragd.ERATELIMIT, Code: "rate_limit_exceeded",
		Message: "rate limit of " + strconv.Itoa(limit) + " " + what + " per minute reached for this API key; retry after " +
			strconv.Itoa(retry) + " s (see the Retry-After header) or ask for a key with a higher limit"}
}

// setRateHeaders writes the X-RateLimit-* headers of l's buckets at now.
// X-RateLimit-Reset is the seconds until every bucket is full again.
func setRateHeaders(h http.Header, l *keyLimiter, now time.Time) {
	reset := 0
	for _, b := range []struct {
		b            *bucket
		n            int
		limitH, remH string
	}{{l.requests, l.rpm, "X-RateLimit-Limit-Requests", "X-RateLimit-Remaining-Requests"},
		{l.tokens, l.tpm, "X-RateLimit-Limit-Tokens", "X-RateLimit-Remaining-Tokens"}} {
		if b.b == nil {
			continue
		}
		remaining, untilFull := b.b.state(now)
		h.Set(b.limitH, strconv.Itoa(b.n))
		h.Set(b.remH, strconv.Itoa(remaining))
		reset = max(reset, seconds(untilFull))
	}
	h.Set("X-RateLimit-Reset", strconv.Itoa(reset))
}

const reservationContextKey = "ragd.tokens"

// reservation is what a request took from its key's token bucket.
type reservation struct {
	l        *keyLimiter
	reserved int
}

// rateLimit enforces the key's requests per minute and sets the
// X-RateLimit-* headers. Tokens per minute are enforced by reservation:
// a handler that will use tokens calls reserveTokens with its estimate
// before doing the work, and once the request ends the reservation is
// settled against the tokens it reported (AddTokens or its response's
// usage): the difference is given back or charged.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		l := s.limits.limiter(keyOf(c))
		now := s.limits.now()
		if l.requests != nil {
			if wait := l.requests.take(now, 1); wait > 0 {
				setRateHeaders(c.Response().Header(), l, now)
				return rateLimitError(c, "requests", l.rpm, seconds(wait))
			}
		}
		setRateHeaders(c.Response().Header(), l, now)
		r := &reservation{l: l}
		c.Set(reservationContextKey, r)
		err := next(c)
		if l.tokens != nil {
			l.tokens.give(s.limits.now(), r.reserved-statsOf(c).tokens().Total())
		}
		return err
	}
}

// reserveTokens takes n, the tokens the request is expected to use, from
// its key's tokens-per-minute budget before the work starts. When they do
// not fit, the request is refused with 429 and Retry-After; a request
// whose estimate is larger than the whole budget can never fit and says
// so.
func (s *Server) reserveTokens(c echo.Context, n int) error {
	r, ok := c.Get(reservationContextKey).(*reservation)
	if !ok || r.l.tokens == nil || n <= 0 {
		return nil
	}
	now := s.limits.now()
	if n > r.l.tpm {
		c.Response().Header().Set("Retry-After", "60")
		return &ragd.Error{Kind: ragd.ERATELIMIT, Code: "tokens_exceed_limit",
			Message: "this request needs an estimated " + strconv.Itoa(n) + " tokens, more than this API key's limit of " +
				strconv.Itoa(r.l.tpm) + " tokens per minute; split it into smaller requests (or lower max_tokens) or ask for a key with a higher limit"}
	}
	if wait := r.l.tokens.take(now, n); wait > 0 {
		setRateHeaders(c.Response().Header(), r.l, now)
		return rateLimitError(c, "tokens", r.l.tpm, seconds(wait))
	}
	r.reserved += n
	setRateHeaders(c.Response().Header(), r.l, now)
	return nil
}
