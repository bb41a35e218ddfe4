package store

import (
	"errors"

	"golang.org/x/sys/cpu"
)

// checkCPU refuses to start on an x86-64 CPU without AVX: the Makefile
// builds sqlite-vec's AVX distance kernel (see docs/benchmarks.md), which
// would crash with an illegal instruction there.
func checkCPU() error {
	if !cpu.X86.HasAVX {
		return errors.New("this ragd build needs a CPU with AVX (x86-64 since 2011); rebuild with VEC_CFLAGS= for older CPUs")
	}
	return nil
}
