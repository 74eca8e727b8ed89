package main

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/queue"
)

// TestE2EMixedProviders: one agent serves a VirtualBox pool (the simulator) and a QEMU pool (a
// real VM) on the same host: both converge, each runs its queue's job, and a plan afterwards
// shows no change, so observation sees both providers' VMs and neither wants the other's.
func TestE2EMixedProviders(t *testing.T) {
	img := qemuTestImage(t)
	h := newHost(t)
	t.Cleanup(func() { killQEMUVMs(h.stateDir) })
	box := packQEMUBox(t, h.dir, img)
	h.writeRaw(h.render(fleetCfg{vms: 1}) + fmt.Sprintf(`
qemu { accel = "auto" }
box "tiny" {
  version = "1"
  url     = "file://%s"
  format  = "qemu"
  ssh {
    user        = %q
    private_key = %q
  }
}
pool "q" {
  box      = "tiny"
  provider = "qemu"
  vms      = 1
  memory   = 256
  queues   = ["qbuilds"]
}
`, box, img.User, img.PrivateKey))
	h.start()
	h.until("ruby-1 and q-1 serving", func(st *control.Status) bool {
		return slices.Equal(slices.Sorted(slices.Values(servingVMs(st))), []string{"q-1", "ruby-1"})
	})

	h.submit("vbox-1")
	_, err := h.tq.Submit(context.Background(), "qbuilds", queue.Args{
		ID: "qemu-1", Repository: queue.Repository{Slug: "fleet/e2e", URL: h.repoURL}, Commit: h.commit, Branch: "main",
		Script: []string{"uname -r", "test -f $HOME/.fleet/ready"},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.release("vbox-1")
	h.waitJob("vbox-1", queue.StatePassed)
	if st := h.waitJob("qemu-1", queue.StatePassed); st.Attempt != 1 {
		t.Errorf("qemu-1 attempt = %d, want 1", st.Attempt)
	}

	deadline := time.Now().Add(time.Minute)
	for {
		code, out := h.cli("plan", "--detailed-exitcode", "-c", h.fleet)
		if code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("plan on the converged mixed host: exit %d, want 0 (no changes)\n%s", code, out)
		}
		time.Sleep(200 * time.Millisecond) // a resync may still be finishing a rollback
	}
	h.signal(syscall.SIGTERM)
	if code := h.waitExit(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}
