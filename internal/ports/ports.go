// Package ports is the host-wide allocator of forwarded SSH ports that every provider shares
// (VirtualBox NAT rules, QEMU hostfwd). An allocation is a critical section across every
// process and provider on the host: Lock takes an in-process lock and a file lock in a shared
// folder; the caller then reads the ports every VM it knows owns (plus any other provider's,
// through Used functions), picks with Pick, records the choice with its VM, and unlocks.
// Nothing probes a port by binding it: a stopped VM still owns its port.
package ports

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// ErrNoFreePort means every port of the range is used by some VM.
var ErrNoFreePort = errors.New("no free port in range")

// LockFile is the name of the host-wide lock file in the lock folder.
const LockFile = "ports.lock"

// lockRetry is how often a waiting allocator retries the file lock.
const lockRetry = 20 * time.Millisecond

// Used returns the host ports a provider's VMs own.
type Used func(ctx context.Context) (map[int]bool, error)

var (
	inprocMu sync.Mutex
	inproc   = map[string]chan struct{}{} // lock file path -> capacity-1 semaphore
)

// Lock takes the in-process lock for dir (shared by every provider of this process, since
// flock does not exclude descriptors of the same process reliably) and the file lock
// dir/ports.lock. unlock releases both.
func Lock(ctx context.Context, dir string) (unlock func(), err error) {
	path := filepath.Join(dir, LockFile)
	inprocMu.Lock()
	sem, ok := inproc[path]
	if !ok {
		sem = make(chan struct{}, 1)
		inproc[path] = sem
	}
	inprocMu.Unlock()
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		<-sem
		return nil, fmt.Errorf("lock dir: %w", err)
	}
	fl := flock.New(path)
	ok, err = fl.TryLockContext(ctx, lockRetry)
	if err != nil || !ok {
		<-sem
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = fl.Unlock() // closing the descriptor releases the lock even if this fails
		<-sem
	}, nil
}

// Pick returns the lowest port of lo..hi not in used.
func Pick(lo, hi int, used map[int]bool) (int, error) {
	if lo <= 0 || hi < lo || hi > 65535 {
		return 0, fmt.Errorf("invalid port range %d-%d", lo, hi)
	}
	for p := lo; p <= hi; p++ {
		if !used[p] {
			return p, nil
		}
	}
	return 0, fmt.Errorf("%d-%d: %w", lo, hi, ErrNoFreePort)
}

// Union merges the ports of every source into used.
func Union(ctx context.Context, used map[int]bool, sources ...Used) error {
	for _, s := range sources {
		if s == nil {
			continue
		}
		m, err := s(ctx)
		if err != nil {
			return err
		}
		for p := range m {
			used[p] = true
		}
	}
	return nil
}
