package sandbox

// The sandbox proof: whatever job 1 does to the worker, job 2 on the same
// worker sees none of it, with either rollback strategy. Also: a VM whose
// rollback fails is taken out of service.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/spec"
	"github.com/fleet-agent/fleet/vbox/vboxsim"
	"github.com/google/go-cmp/cmp"
)

func TestNothingSurvivesAJob(t *testing.T) {
	w := newWorld(t, true)
	ctx := context.Background()
	for _, strategy := range []string{spec.RollbackReadySnapshot, spec.RollbackPerJobSnapshot} {
		t.Run(strategy, func(t *testing.T) {
			name := "iso-" + strategy
			vm, disk := w.worker(t, name)
			slot := w.slot(t, name, "iso-"+strategy)
			s := w.sandbox(t, vm, w.qc, slot, func(c *Config) { c.Rollback = strategy })
			home := filepath.Join(disk, "home", DefaultUser)

			// A stray snapshot (someone's, or a crashed agent's) goes too.
			if _, err := w.drv.TakeSnapshot(ctx, name, "stray", true); err != nil {
				t.Fatal(err)
			}
			job1 := w.submitFetch(t, slot, w.args(
				`echo job1 > "$HOME/job1.txt"`,
				`echo job1 > "$TMPDIR/job1.tmp"`,
				`rm "$HOME/image.txt"`,
				`echo changed > "$HOME/keep.txt"`,
				`rm "$(command -v sudo)"`,
				`test ! -e "$HOME/image.txt" && grep -qx changed "$HOME/keep.txt"`,
			))
			out, err := s.Run(ctx, job1)
			if err != nil || out.Result.State != queue.StatePassed {
				t.Fatalf("job 1: %+v, %v\n%s", out, err, w.queueLog(t, job1.ID))
			}

			// Seen from the host: the disk is the ready disk again.
			for _, p := range []string{filepath.Join(home, "job1.txt"), filepath.Join(disk, "tmp", "job1.tmp")} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s survived the job (stat: %v)", p, err)
				}
			}
			for p, want := range map[string]string{
				filepath.Join(home, "image.txt"): "image\n",
				filepath.Join(home, "keep.txt"):  "original\n",
			} {
				if got, err := os.ReadFile(p); err != nil || string(got) != want {
					t.Errorf("%s = %q, %v; want %q", p, got, err, want)
				}
			}
			if _, err := os.Stat(filepath.Join(disk, "bin", "sudo")); err != nil {
				t.Errorf("bin/sudo deleted by the job is still missing: %v", err)
			}
			snaps, err := vm.Snapshots(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, sn := range snaps {
				names = append(names, sn.Name)
			}
			if diff := cmp.Diff([]string{SnapshotReady}, names); diff != "" {
				t.Errorf("snapshots after rollback (-want +got):\n%s", diff)
			}

			// Seen from the guest, by the next job.
			job2 := w.submitFetch(t, slot, w.args(
				`test ! -e "$HOME/job1.txt"`,
				`test ! -e "$TMPDIR/job1.tmp"`,
				`test "$(cat "$HOME/image.txt")" = image`,
				`test "$(cat "$HOME/keep.txt")" = original`,
				`command -v sudo`,
			))
			out, err = s.Run(ctx, job2)
			if err != nil || out.Result.State != queue.StatePassed {
				t.Errorf("job 2 saw job 1's traces: %+v, %v\n%s", out, err, w.queueLog(t, job2.ID))
			}
		})
	}
}

func TestRestoreFailureBreaksTheVM(t *testing.T) {
	w := newWorld(t, true)
	ctx := context.Background()
	vm, _ := w.worker(t, "breaks")
	slot := w.slot(t, "breaks", "breaks")
	s := w.sandbox(t, vm, w.qc, slot, nil)
	w.sim.Inject(t, vboxsim.Fault{Op: "snapshot_restore", VM: "breaks", Times: -1, Block: vboxsim.BlockVMError})

	job1 := w.submitFetch(t, slot, w.args("echo first job"))
	out, err := s.Run(ctx, job1)
	if !errors.Is(err, ErrBroken) {
		t.Fatalf("Run with a failing restore = %v, want ErrBroken", err)
	}
	var be *BrokenError
	if !errors.As(err, &be) || be.Step != "restore snapshot" {
		t.Errorf("broken error %v, want the restore step named", err)
	}
	if out.Result.State != queue.StatePassed {
		t.Errorf("job 1 = %q, want passed: the job itself ran to its end", out.Result.State)
	}
	if s.Broken() == nil {
		t.Fatal("Broken() = nil after a failed rollback")
	}

	job2 := w.submitFetch(t, slot, w.args("echo second job"))
	out, err = s.Run(ctx, job2)
	if !errors.Is(err, ErrBroken) || !out.Requeued {
		t.Fatalf("Run on a broken VM = %+v, %v; want ErrBroken and the job requeued", out, err)
	}
	st, err := w.qc.JobStatus(ctx, job2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != queue.StateQueued {
		t.Errorf("job 2 record state %q, want queued", st.State)
	}
	if log := w.queueLog(t, job2.ID); strings.Contains(log, "second job") {
		t.Errorf("job 2 ran on the broken VM:\n%s", log)
	}
	n, err := w.qc.Redis().LLen(ctx, "resque:queue:breaks").Result()
	if err != nil || n != 1 {
		t.Errorf("queue length %d (%v), want job 2 back in the queue", n, err)
	}
}
