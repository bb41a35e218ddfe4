//go:build !amd64

package store

// checkCPU has nothing to check outside x86-64.
func checkCPU() error { return nil }
