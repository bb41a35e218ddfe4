package retry

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	const maxDuration = time.Duration(math.MaxInt64)
	tests := []struct {
		name    string
		b       Backoff
		n       int
		nominal time.Duration // the wait before jitter: min(Base*2^(n-1), Max)
	}{
		{"First", Backoff{Base: 100 * time.Millisecond, Max: time.Second}, 1, 100 * time.Millisecond},
		{"Doubles", Backoff{Base: 100 * time.Millisecond, Max: time.Second}, 2, 200 * time.Millisecond},
		{"DoublesAgain", Backoff{Base: 100 * time.Millisecond, Max: time.Second}, 4, 800 * time.Millisecond},
		{"Capped", Backoff{Base: 100 * time.Millisecond, Max: time.Second}, 5, time.Second},
		{"CappedFarOut", Backoff{Base: 100 * time.Millisecond, Max: time.Second}, 80, time.Second},
		{"HugeN", Backoff{Base: 100 * time.Millisecond, Max: time.Second}, math.MaxInt, time.Second},
		{"ZeroCountsAsFirst", Backoff{Base: 100 * time.Millisecond, Max: time.Second}, 0, 100 * time.Millisecond},
		{"NegativeCountsAsFirst", Backoff{Base: 100 * time.Millisecond, Max: time.Second}, -3, 100 * time.Millisecond},
		{"LastDoublingBeforeOverflow", Backoff{Base: time.Second, Max: maxDuration}, 34, time.Second << 33},
		{"OverflowGivesMax", Backoff{Base: time.Second, Max: maxDuration}, 35, maxDuration},
		{"OverflowFarOutGivesMax", Backoff{Base: time.Second, Max: maxDuration}, 64, maxDuration},
		{"BaseAboveMax", Backoff{Base: time.Minute, Max: time.Second}, 1, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lowest, highest := tt.b, tt.b
			lowest.Jitter = func() float64 { return 0 }
			highest.Jitter = func() float64 { return math.Nextafter(1, 0) }
			if got, want := lowest.Delay(tt.n), tt.nominal/2; got != want {
				t.Errorf("Delay(%d) with jitter 0 = %v, want %v", tt.n, got, want)
			}
			// float64 keeps 53 bits: the top of the range is exact to a
			// few parts in 10^16 of it.
			if got := highest.Delay(tt.n); got > tt.nominal || tt.nominal-got > tt.nominal>>40+1 {
				t.Errorf("Delay(%d) with jitter just under 1 = %v, want just under %v", tt.n, got, tt.nominal)
			}
			for range 1000 {
				if got := tt.b.Delay(tt.n); got < tt.nominal/2 || got > tt.nominal {
					t.Fatalf("Delay(%d) = %v, want %v..%v", tt.n, got, tt.nominal/2, tt.nominal)
				}
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header string
		want   time.Duration
		ok     bool
	}{
		{"Absent", "", 0, false},
		{"Blank", "  ", 0, false},
		{"Zero", "0", 0, true},
		{"Seconds", "3", 3 * time.Second, true},
		{"SecondsWithSpaces", " 12 ", 12 * time.Second, true},
		{"Negative", "-3", 0, false},
		{"Fraction", "1.5", 0, false},
		{"Garbage", "soon", 0, false},
		{"SecondsPastDuration", "99999999999", math.MaxInt64, true},
		{"SecondsPastInt64", "99999999999999999999999", math.MaxInt64, true},
		{"NegativePastInt64", "-99999999999999999999999", 0, false},
		{"FutureDate", "Sun, 01 Jun 2025 12:01:30 GMT", 90 * time.Second, true},
		{"FutureDateRFC850", "Sunday, 01-Jun-25 12:00:05 GMT", 5 * time.Second, true},
		{"FutureDateANSIC", "Sun Jun  1 12:00:10 2025", 10 * time.Second, true},
		{"PastDate", "Sun, 01 Jun 2025 11:59:00 GMT", 0, true},
		{"LongPastDate", "Mon, 02 Jan 2006 15:04:05 GMT", 0, true},
		{"DateWithTrailingGarbage", "Sun, 01 Jun 2025 12:01:30 GMT soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.header, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseRetryAfter(%q) = %v, %v, want %v, %v", tt.header, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// Sleep runs on synctest's fake clock, so the waits are exact and take no
// real time.
func TestSleep(t *testing.T) {
	tests := []struct {
		name     string
		d        time.Duration
		deadline time.Duration // of the context; 0 for none
		wantErr  error
		want     time.Duration // fake time slept
	}{
		{"Full", time.Hour, 0, nil, time.Hour},
		{"Zero", 0, 0, nil, 0},
		{"CutShort", time.Hour, time.Minute, context.DeadlineExceeded, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				if tt.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.deadline)
					defer cancel()
				}
				start := time.Now()
				err := Sleep(ctx, tt.d)
				if err != tt.wantErr || time.Since(start) != tt.want {
					t.Errorf("Sleep(%v) = %v after %v, want %v after %v", tt.d, err, time.Since(start), tt.wantErr, tt.want)
				}
			})
		})
	}
	t.Run("AlreadyCancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := Sleep(ctx, time.Hour); err != context.Canceled {
			t.Errorf("Sleep with a cancelled context = %v, want %v", err, context.Canceled)
		}
	})
}
