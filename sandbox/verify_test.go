package sandbox

// A rollback ends with proof that the VM is the ready VM: its pinned host
// key, its marker, its `ready` snapshot. A VM without any of them is broken.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fleet-agent/fleet/guest"
)

func TestRollbackRefusesAVMThatIsNotTheReadyVM(t *testing.T) {
	w := newWorld(t, false)
	ctx := context.Background()
	otherKey, err := guest.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		spoil    func(t *testing.T, vm string)
		step     string
		cause    error // errors.Is target, when there is one
		requeued bool
	}{
		{
			name: "host key differs from the pinned one",
			spoil: func(t *testing.T, vm string) {
				if err := w.drv.SetExtraData(ctx, vm, KeyHostKey, guest.FormatHostKey(otherKey.PublicKey())); err != nil {
					t.Fatal(err)
				}
			},
			step: "verify", cause: guest.ErrHostKeyChanged, requeued: true,
		},
		{
			name: "marker differs",
			spoil: func(t *testing.T, vm string) {
				if err := w.drv.SetExtraData(ctx, vm, KeyMarker, "some other vm"); err != nil {
					t.Fatal(err)
				}
			},
			step: "verify", cause: errMarker,
		},
		{
			name: "ready snapshot gone",
			spoil: func(t *testing.T, vm string) {
				if err := w.drv.DeleteSnapshot(ctx, vm, SnapshotReady); err != nil {
					t.Fatal(err)
				}
			},
			step: "find snapshot",
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "verify-" + string(rune('a'+i))
			vm, _ := w.worker(t, name)
			tt.spoil(t, name)
			mq := newMemQueue()
			s := w.sandbox(t, vm, mq, mq, nil)
			a := w.args("true")
			a.ID = name
			out, err := s.Run(ctx, jobOf(a))
			var be *BrokenError
			if !errors.As(err, &be) || be.Step != tt.step {
				t.Fatalf("Run = %+v, %v; want the VM broken at step %q", out, err, tt.step)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("broken error %v, want cause %v", err, tt.cause)
			}
			if out.Requeued != tt.requeued {
				t.Errorf("requeued = %v, want %v (outcome %+v)", out.Requeued, tt.requeued, out)
			}
			if s.Broken() == nil {
				t.Error("Broken() = nil")
			}
		})
	}
}

func TestResetCleansAVMLeftDirty(t *testing.T) {
	w := newWorld(t, false)
	vm, disk := w.worker(t, "reset")
	mq := newMemQueue()
	s := w.sandbox(t, vm, mq, mq, nil)
	// What a job killed along with its agent leaves behind.
	left := filepath.Join(disk, "home", DefaultUser, "left-by-a-killed-job")
	if err := os.WriteFile(left, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(context.Background()); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file left by a killed job survived Reset (stat: %v)", err)
	}
	if s.Broken() != nil {
		t.Errorf("Broken() = %v after a clean Reset", s.Broken())
	}
}
