package testwait

import (
	"fmt"
	"runtime"
	"testing"
	"testing/synctest"
	"time"
)

// fatalTB records the message of Fatalf and, like testing.T, ends the
// goroutine that called it.
type fatalTB struct {
	testing.TB
	failed string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// Until runs on synctest's fake clock, so the waits it makes are exact.
func TestUntil(t *testing.T) {
	for _, tt := range []struct {
		name     string
		holdsOn  int // the call of cond that first returns true; 0: none
		timeout  time.Duration
		wantWait time.Duration
		wantFail bool
	}{
		{"HoldsAtOnce", 1, time.Minute, 0, false},
		{"HoldsOnTheFourthCheck", 4, time.Minute, 3 * tick, false},
		{"NeverHolds", 0, time.Minute, time.Minute, true},
		{"HoldsOnlyAfterTheDeadline", 4, 2 * tick, 2 * tick, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tb := &fatalTB{TB: t}
				calls := 0
				start := time.Now()
				done := make(chan struct{})
				go func() {
					defer close(done)
					Until(tb, tt.timeout, func() bool { calls++; return calls == tt.holdsOn }, "the %s was not written", "row")
				}()
				<-done
				wantFail := ""
				if tt.wantFail {
					wantFail = fmt.Sprintf("the row was not written (waited %v)", tt.timeout)
				}
				if waited := time.Since(start); waited != tt.wantWait || tb.failed != wantFail {
					t.Errorf("Until waited %v and failed with %q, want %v and %q", waited, tb.failed, tt.wantWait, wantFail)
				}
			})
		})
	}
}
