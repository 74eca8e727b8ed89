// Package portstest gives each test its own block of host ports for VM forwards, reserved
// across every test process on the machine, so concurrently running packages never hand two
// simulated hosts the same port.
package portstest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gofrs/flock"
)

// The blocks lie below Linux's default ephemeral range (32768-60999), so no redis-server or
// sshd a test starts on a kernel-chosen port, and no outgoing connection, can sit in them.
const (
	first     = 20000
	blockSize = 100
	blocks    = 120 // 20000-31999
)

// Range reserves a block of 100 ports for tb until its cleanup and returns [lo, hi]. The
// reservation is a file lock, so it holds across test binaries and dies with the process.
func Range(tb testing.TB) [2]int {
	tb.Helper()
	dir := filepath.Join(os.TempDir(), "fleet-test-ports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("portstest: %v", err)
	}
	start := rand.IntN(blocks)
	for i := range blocks {
		b := (start + i) % blocks
		fl := flock.New(filepath.Join(dir, fmt.Sprintf("block-%03d.lock", b)))
		ok, err := fl.TryLock()
		if err != nil {
			tb.Fatalf("portstest: lock block %d: %v", b, err)
		}
		if ok {
			tb.Cleanup(func() { _ = fl.Unlock() })
			lo := first + b*blockSize
			return [2]int{lo, lo + blockSize - 1}
		}
	}
	tb.Fatalf("portstest: all %d port blocks are reserved", blocks)
	return [2]int{}
}
