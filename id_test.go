package ragd

import (
	"strings"
	"testing"
	"time"
)

// IDs keep their shape (prefix, underscore, 20 characters of the
// alphabet), sort in the order of their times, millisecond by
// millisecond, across the whole range of dates, and differ within one
// millisecond.
func TestNewIDOrder(t *testing.T) {
	base := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	times := []time.Time{time.UnixMilli(0), base, base.Add(time.Millisecond), base.Add(time.Second), base.Add(24 * time.Hour),
		time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)}
	var prev string
	for _, at := range times {
		seen := map[string]bool{}
		for range 200 {
			id := newIDAt("item", at)
			rest, ok := strings.CutPrefix(id, "item_")
			if !ok || len(rest) != 20 || strings.Trim(rest, "0123456789abcdefghjkmnpqrstvwxyz") != "" {
				t.Fatalf("%q: want item_ and 20 characters of the ID alphabet", id)
			}
			if id <= prev {
				t.Fatalf("%q (at %v) sorts before or as %q, made earlier", id, at, prev)
			}
			if seen[id] {
				t.Fatalf("%q made twice in one millisecond", id)
			}
			seen[id] = true
		}
		// The next time's IDs must all sort after every ID of this one.
		for id := range seen {
			prev = max(prev, id)
		}
	}
}
