// The QEMU side of `agent doctor --deep`: the same VM lifecycle through the QEMU provider
// (qemu-img overlays, QMP), on a provider of its own rooted in state_dir/doctor-deep/qemu, so it
// never sees, let alone touches, the fleet's QEMU VMs. Its box is the tiny guest of
// qemu/imagebuild (built once and cached; Debian's tools), or an unpacked QEMU box given with
// --qemu-box. A killed run leaves at most that folder and the qemu processes it records; the
// next run's first step stops and removes them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/qemu"
	"github.com/fleet-agent/fleet/qemu/imagebuild"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/spec"
)

// deepQEMUStepNames are the steps of the QEMU deep check, in order.
var deepQEMUStepNames = []string{
	"clean leftovers", "make box", "import", "golden image", "linked clone", "ready snapshot",
	"reach ssh", "run command", "write file", "power off", "restore ready", "start again",
	"file gone", "delete",
}

// deepQEMURun is one QEMU deep check.
type deepQEMURun struct {
	*deepSteps
	f       *spec.Fleet
	o       *deepOpts
	root    string // state_dir/doctor-deep/qemu: the provider's state folder
	p       *qemu.Provider
	desired reconcile.Desired
	box     reconcile.BoxSpec
	pool    reconcile.PoolSpec
	golden  string
	worker  string
	user    string
	boxDir  string
	deepGuest
}

func (a *app) deepQEMU(ctx context.Context, w io.Writer, f *spec.Fleet, o *deepOpts) *deepSteps {
	r := &deepQEMURun{f: f, o: o, root: filepath.Join(f.Host.StateDir, deepDirName, "qemu"),
		deepSteps: &deepSteps{w: w, provider: "qemu", planned: len(deepQEMUStepNames)}}
	r.runSteps(ctx)
	return r.deepSteps
}

// owner marks the deep check's VMs apart from the fleet's, should the folders ever meet.
func (r *deepQEMURun) owner() string { return "doctor@" + r.f.Host.Name }

func (r *deepQEMURun) runSteps(ctx context.Context) {
	r.step(ctx, "clean leftovers", func(ctx context.Context) (string, error) {
		n, err := r.cleanup(ctx)
		return fmt.Sprintf("removed %d VM(s) an earlier run left", n), err
	})
	r.step(ctx, "make box", r.makeBox)
	r.step(ctx, "import", func(ctx context.Context) (string, error) {
		name := reconcile.BoxVMName(r.box.Name, r.box.Version)
		return name, r.p.ImportBox(ctx, reconcile.ImportRequest{Name: name, Box: r.box, Dir: r.boxDir})
	})
	r.step(ctx, "golden image", func(ctx context.Context) (string, error) {
		r.golden = reconcile.GoldenName(r.pool.Name, r.pool.Hash)
		return r.golden + " (booted, hardened, state saved)", r.p.BuildGolden(ctx, reconcile.GoldenRequest{
			Name: r.golden, Pool: r.pool, Box: r.box, BoxVM: reconcile.BoxVMName(r.box.Name, r.box.Version)})
	})
	r.step(ctx, "linked clone", func(ctx context.Context) (string, error) {
		r.worker = reconcile.WorkerName(r.pool.Name, 1)
		return r.worker + " (qcow2 overlay on the golden, resumed)", r.p.CreateWorker(ctx, reconcile.WorkerRequest{
			Name: r.worker, Pool: r.pool, Box: r.box, Golden: r.golden})
	})
	r.step(ctx, "ready snapshot", func(ctx context.Context) (string, error) {
		snaps, err := r.p.VM(r.worker).Snapshots(ctx)
		if err != nil {
			return "", err
		}
		for _, s := range snaps {
			if s.Name == reconcile.SnapshotReady {
				return s.Name, nil
			}
		}
		return "", fmt.Errorf("%s has no %q snapshot after creation (has %v)", r.worker, reconcile.SnapshotReady, snaps)
	})
	r.step(ctx, "reach ssh", r.dial)
	r.step(ctx, "run command", r.runCommand)
	r.step(ctx, "write file", r.writeFile)
	r.step(ctx, "power off", func(ctx context.Context) (string, error) {
		r.closeClient()
		return "", r.p.VM(r.worker).PowerOff(ctx)
	})
	r.step(ctx, "restore ready", func(ctx context.Context) (string, error) {
		return reconcile.SnapshotReady + " (loadvm)", r.p.VM(r.worker).RestoreSnapshot(ctx, reconcile.SnapshotReady)
	})
	r.step(ctx, "start again", func(ctx context.Context) (string, error) {
		if err := r.p.VM(r.worker).Start(ctx); err != nil {
			return "", err
		}
		return r.dial(ctx)
	})
	r.step(ctx, "file gone", r.fileGone)
	r.closeClient()
	r.always(ctx, "delete", func(ctx context.Context) (string, error) {
		n, err := r.cleanup(ctx)
		return fmt.Sprintf("removed %d VM(s) and %s", n, r.root), err
	})
}

// provider opens the deep check's own QEMU provider (once).
func (r *deepQEMURun) provider() (*qemu.Provider, error) {
	if r.p != nil {
		return r.p, nil
	}
	if err := os.MkdirAll(r.root, 0o700); err != nil {
		return nil, err
	}
	p, err := qemu.New(qemu.Config{Owner: r.owner(), StateDir: r.root, Binary: r.f.QEMU.Binary, Accel: r.f.QEMU.Accel,
		PortRange: r.f.VirtualBox.SSHPortRange, BootTimeout: r.o.bootTimeout})
	if err != nil {
		return nil, fmt.Errorf("qemu provider: %w", err)
	}
	r.p = p
	return p, nil
}

// cleanup destroys every VM the deep check's provider owns (its qemu processes included) and
// removes its folder; it counts the VMs.
func (r *deepQEMURun) cleanup(ctx context.Context) (int, error) {
	if _, err := os.Stat(r.root); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	p, err := r.provider()
	if err != nil {
		return 0, err
	}
	inv, err := p.Observe(ctx)
	if err != nil {
		return 0, err
	}
	// Workers before the goldens and boxes their overlays are backed by.
	rank := map[string]int{reconcile.RoleWorker: 0, reconcile.RoleGolden: 1, reconcile.RoleBox: 2}
	vms := slices.Clone(inv.VMs)
	slices.SortStableFunc(vms, func(a, b reconcile.VM) int { return rank[a.Role] - rank[b.Role] })
	n := 0
	for _, vm := range vms {
		if err := p.Destroy(ctx, reconcile.VMRef{Name: vm.Name, ID: vm.ID}); err != nil {
			return n, fmt.Errorf("%s: %w", vm.Name, err)
		}
		n++
	}
	if err := p.Close(); err != nil {
		return n, err
	}
	r.p = nil
	return n, removeDeepDir(filepath.Dir(r.root), filepath.Base(r.root))
}

// makeBox puts the box in place: the cached tiny test image, or --qemu-box.
func (r *deepQEMURun) makeBox(ctx context.Context) (string, error) {
	if _, err := r.provider(); err != nil {
		return "", err
	}
	r.boxDir = filepath.Join(r.root, "box")
	if err := os.MkdirAll(r.boxDir, 0o700); err != nil {
		return "", err
	}
	sshSpec := spec.BoxSSH{User: "vagrant", PrivateKey: guest.VagrantInsecurePrivateKey, Port: 22}
	detail := ""
	// The box folder links the files: ImportBox copies them into the box VM itself.
	link := func(src, name string) error { return os.Symlink(src, filepath.Join(r.boxDir, name)) }
	if r.o.qemuBox != "" {
		src, err := filepath.Abs(r.o.qemuBox)
		if err != nil {
			return "", fmt.Errorf("--qemu-box: %w", err)
		}
		if _, err := os.Stat(filepath.Join(src, qemu.BoxDisk)); err != nil {
			return "", fmt.Errorf("--qemu-box: %w", err)
		}
		for _, name := range []string{qemu.BoxDisk, qemu.BoxKernel, qemu.BoxInitrd, qemu.BoxCmdline} {
			if _, err := os.Stat(filepath.Join(src, name)); err == nil {
				if err := link(filepath.Join(src, name), name); err != nil {
					return "", err
				}
			}
		}
		detail = "box from " + src
	} else {
		if m := imagebuild.Missing(); len(m) > 0 {
			return "", fmt.Errorf("the tiny test image needs %v (Debian: scripts/qemu-deps.sh), or pass --qemu-box DIR (an unpacked QEMU box)", m)
		}
		bctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		img, err := imagebuild.Build(bctx, imagebuild.Options{})
		if err != nil {
			return "", fmt.Errorf("build the tiny test image: %w", err)
		}
		for src, name := range map[string]string{img.Disk: qemu.BoxDisk, img.Kernel: qemu.BoxKernel, img.Initrd: qemu.BoxInitrd} {
			if err := link(src, name); err != nil {
				return "", err
			}
		}
		if err := os.WriteFile(filepath.Join(r.boxDir, qemu.BoxCmdline), []byte(img.Cmdline+"\n"), 0o644); err != nil {
			return "", err
		}
		sshSpec = spec.BoxSSH{User: img.User, PrivateKey: img.PrivateKey, Port: 22}
		detail = "tiny test image " + img.Key[:12]
	}
	r.user = sshSpec.User
	fleet := &spec.Fleet{Host: spec.Host{Name: r.owner(), StateDir: r.root},
		Boxes: []*spec.Box{{Name: "fleet-doctor", Version: "1", URL: "file://" + r.boxDir, SSH: sshSpec}},
		Pools: []*spec.Pool{{Name: "doctor", Box: "fleet-doctor", Provider: spec.ProviderQEMU, VMs: 1, Memory: 256, CPUs: 1}}}
	r.desired = reconcile.NewDesired(fleet, nil)
	r.box, r.pool = r.desired.Boxes[0], r.desired.Pools[0]
	return detail, nil
}

// dial reaches the worker's SSH with the agent's key and the host key pinned at creation.
func (r *deepQEMURun) dial(ctx context.Context) (string, error) {
	r.closeClient()
	ep, err := r.p.VM(r.worker).Endpoint(ctx)
	if err != nil {
		return "", err
	}
	key, err := guest.LoadOrCreateKey(r.root)
	if err != nil {
		return "", err
	}
	c, err := guest.WaitForSSH(ctx, guest.Config{VM: r.worker, Addr: ep.Addr, User: r.user, Signers: []ssh.Signer{key},
		HostKey: ep.HostKey}, r.o.bootTimeout)
	if err != nil {
		return "", err
	}
	r.client = c
	return r.user + "@" + ep.Addr + " (agent key, pinned host key)", nil
}
