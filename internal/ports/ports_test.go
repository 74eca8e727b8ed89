package ports

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestPick(t *testing.T) {
	tests := []struct {
		name    string
		lo, hi  int
		used    map[int]bool
		want    int
		wantErr error
	}{
		{"lowest free", 2200, 2210, map[int]bool{2200: true, 2202: true}, 2201, nil},
		{"all used", 2200, 2201, map[int]bool{2200: true, 2201: true}, 0, ErrNoFreePort},
		{"empty used", 5000, 5000, nil, 5000, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Pick(tt.lo, tt.hi, tt.used)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("Pick = %d, %v; want %d, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if _, err := Pick(10, 5, nil); err == nil {
		t.Error("Pick accepted an inverted range")
	}
}

// TestLockExcludesConcurrentAllocators runs allocators that each read a shared claim set,
// pick and claim under Lock: no port may be handed out twice.
func TestLockExcludesConcurrentAllocators(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	claimed := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := Lock(context.Background(), dir)
			if err != nil {
				t.Error(err)
				return
			}
			defer unlock()
			used := map[int]bool{}
			err = Union(context.Background(), used, func(context.Context) (map[int]bool, error) {
				mu.Lock()
				defer mu.Unlock()
				m := map[int]bool{}
				for p := range claimed {
					m[p] = true
				}
				return m, nil
			})
			if err != nil {
				t.Error(err)
				return
			}
			p, err := Pick(3000, 3100, used)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			claimed[p]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(claimed) != 8 {
		t.Errorf("8 allocations claimed %d distinct ports: %v", len(claimed), claimed)
	}
}

func TestLockHonoursContext(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Lock(ctx, dir); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock while held with a cancelled context = %v, want context.Canceled", err)
	}
}
