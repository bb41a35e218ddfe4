// Package testwait waits, in tests, for a condition that nothing
// announces: a row a background loop writes, the state of a child
// process, a listener that closes. Until returns as soon as the condition
// holds, so a fast machine does not wait, and fails only at a deadline
// generous enough for a slow and loaded one, with a message that says what
// did not happen: it replaces sleeps of guessed lengths and the polling
// loops each test wrote for itself. Where everything a test waits for runs
// in-process on channels and timers, testing/synctest is the better tool.
package testwait

import (
	"fmt"
	"testing"
	"time"
)

// tick is the pause between two checks: short beside what tests wait for
// (a database write, an HTTP round trip, a file's ingest), long enough
// that polling takes no core from the work it waits for on a 2-core
// machine.
const tick = 10 * time.Millisecond

// Until calls cond every tick until it returns true. When it has not
// returned true by timeout, Until fails tb with the message format,
// args and stops the test, so call it from the test's goroutine. cond runs
// on the calling goroutine and may itself fail tb.
func Until(tb testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if !time.Now().Before(deadline) {
			tb.Fatalf("%s (waited %v)", fmt.Sprintf(format, args...), timeout)
		}
		time.Sleep(tick)
	}
}
