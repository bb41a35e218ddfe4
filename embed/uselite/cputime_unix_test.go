//go:build unix

package uselite

import (
	"syscall"
	"time"
)

// cpuTime returns the user and system CPU time the process has used, so
// benchmarks can report throughput per CPU-second next to wall-clock
// throughput (the two differ when other processes share the cores).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
