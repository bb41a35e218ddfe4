package server

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store"
	"golang.org/x/time/rate"
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

// keyLimiter holds the token buckets of one key.
type keyLimiter struct {
	rpm, tpm int
	requests *rate.Limiter // nil: no request limit
	tokens   *rate.Limiter // nil: no token limit
}

// perMinute returns a bucket refilled at n per minute holding n, or nil
// for no limit.
func perMinute(n int) *rate.Limiter {
	if n <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(float64(n)/60), n)
}

// rateLimiter keeps a keyLimiter per key.
type rateLimiter struct {
	def  Tier
	mu   sync.Mutex
	keys map[string]*keyLimiter
}

func newRateLimiter(def Tier) *rateLimiter {
	return &rateLimiter{def: def, keys: map[string]*keyLimiter{}}
}

// limiter returns the buckets of k, made afresh when its limits changed.
func (r *rateLimiter) limiter(k *store.Key) *keyLimiter {
	rpm, tpm := k.RPM, k.TPM
	if rpm == 0 {
		rpm = r.def.RPM
	}
	if tpm == 0 {
		tpm = r.def.TPM
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.keys[k.ID]
	if l == nil || l.rpm != rpm || l.tpm != tpm {
		l = &keyLimiter{rpm: rpm, tpm: tpm, requests: perMinute(rpm), tokens: perMinute(tpm)}
		r.keys[k.ID] = l
	}
	return l
}

// secondsUntil returns the whole seconds until lim holds want tokens.
func secondsUntil(lim *rate.Limiter, now time.Time, want float64) int {
	have := lim.TokensAt(now)
	if have >= want {
		return 0
	}
	return int(math.Ceil((want - have) / float64(lim.Limit())))
}

// rateLimitError is the 429 of a spent limit.
func rateLimitError(what string, limit, retry int) error {
	return &ragd.Error{Kind: ragd.ERATELIMIT, Code: "rate_limit_exceeded",
		Message: "rate limit of " + strconv.Itoa(limit) + " " + what + " per minute reached for this API key; retry after " +
			strconv.Itoa(retry) + " s (see the Retry-After header) or ask for a key with a higher limit"}
}

// setRateHeaders writes the X-RateLimit-* headers of l's buckets at now.
// X-RateLimit-Reset is the seconds until every bucket is full again.
func setRateHeaders(h http.Header, l *keyLimiter, now time.Time) {
	reset := 0
	for _, b := range []struct {
		lim          *rate.Limiter
		n            int
		limitH, remH string
	}{{l.requests, l.rpm, "X-RateLimit-Limit-Requests", "X-RateLimit-Remaining-Requests"},
		{l.tokens, l.tpm, "X-RateLimit-Limit-Tokens", "X-RateLimit-Remaining-Tokens"}} {
		if b.lim == nil {
			continue
		}
		h.Set(b.limitH, strconv.Itoa(b.n))
		h.Set(b.remH, strconv.Itoa(max(0, int(b.lim.TokensAt(now)))))
		reset = max(reset, secondsUntil(b.lim, now, float64(b.n)))
	}
	h.Set("X-RateLimit-Reset", strconv.Itoa(reset))
}

// rateLimit enforces the key's requests and tokens per minute and sets
// the X-RateLimit-* headers. Tokens are charged after the request, from
// what the handler reported (AddTokens), so a request that overdraws the
// token bucket succeeds and the following ones wait until it refills.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		l := s.limits.limiter(keyOf(c))
		now := time.Now()
		var err error
		if l.tokens != nil {
			if wait := secondsUntil(l.tokens, now, 1); wait > 0 {
				c.Response().Header().Set("Retry-After", strconv.Itoa(wait))
				err = rateLimitError("tokens", l.tpm, wait)
			}
		}
		if err == nil && l.requests != nil {
			r := l.requests.ReserveN(now, 1)
			if d := r.DelayFrom(now); d > 0 {
				r.CancelAt(now)
				wait := int(math.Ceil(d.Seconds()))
				c.Response().Header().Set("Retry-After", strconv.Itoa(wait))
				err = rateLimitError("requests", l.rpm, wait)
			}
		}
		setRateHeaders(c.Response().Header(), l, now)
		if err != nil {
			return err
		}
		err = next(c)
		if n := statsOf(c).tokens().Total(); n > 0 && l.tokens != nil {
			// A reservation larger than the bucket is refused; charge
			// what fits, which empties it for a whole minute.
			l.tokens.ReserveN(time.Now(), min(n, l.tpm))
		}
		return err
	}
}
