package vbox_test

// Tests against a real VirtualBox. They only read (version, lists, info, snapshots) so they
// are safe on a developer's machine, and run only with FLEET_REAL_VBOX=1 and VBoxManage on
// PATH.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/fleet-agent/fleet/vbox"
)

func realDriver(t *testing.T) *vbox.Driver {
	t.Helper()
	if os.Getenv("FLEET_REAL_VBOX") != "1" {
		t.Skip("set FLEET_REAL_VBOX=1 to run against a real VBoxManage")
	}
	path, err := exec.LookPath("VBoxManage")
	if err != nil {
		t.Skip("VBoxManage is not on PATH")
	}
	return vbox.New(vbox.Config{Manage: path, LockDir: t.TempDir()}, nil)
}

func TestRealVBoxManageReads(t *testing.T) {
	d := realDriver(t)
	ctx := context.Background()
	v, err := d.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("VirtualBox %s (%s)", v, v.Raw)
	refs, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.ListRunning(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		if r.Inaccessible {
			continue
		}
		info, err := d.Info(ctx, r.UUID)
		if errors.Is(err, vbox.ErrNotFound) {
			continue // deleted since the list
		}
		if err != nil {
			t.Fatalf("info %s: %v", r.Name, err)
		}
		if info.UUID != r.UUID || info.State == "" {
			t.Errorf("info %s: uuid %q state %q", r.Name, info.UUID, info.State)
		}
		if _, err := d.Snapshots(ctx, r.UUID); err != nil {
			t.Errorf("snapshots %s: %v", r.Name, err)
		}
	}
	if _, err := d.Info(ctx, "fleet-no-such-vm-7f3a"); !errors.Is(err, vbox.ErrNotFound) {
		t.Errorf("Info of a missing VM = %v, want ErrNotFound", err)
	}
}
