// The provider's mutations. Each keeps reconcile's crash-safety contract: a VM folder gets
// vm.json with phase creating (owner, role, creation time) before anything else, and phase
// ready as its last step; a folder without vm.json is observed as creating debris.

package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fleet-agent/fleet/golden"
	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/reconcile"
)

// Files of a QEMU box (the unpacked box from the box cache): the disk image is required, the
// others enable direct kernel boot.
const (
	BoxDisk    = "box.qcow2"
	BoxKernel  = "vmlinuz"
	BoxInitrd  = "initrd.img"
	BoxCmdline = "cmdline" // one line: the kernel command line
)

const cleanupTimeout = 2 * time.Minute

// newVM creates the folder of a new VM with its first facts (phase creating).
func (p *Provider) newVM(name, role string, more func(f *facts)) (*facts, error) {
	dir := p.dir(name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	f := &facts{Name: name, Owner: p.cfg.Owner, Role: role, Phase: reconcile.PhaseCreating, Created: p.cfg.Now().UTC().Truncate(time.Second),
		Incarnation: newIncarnation()}
	if more != nil {
		more(f)
	}
	if err := writeFacts(dir, f); err != nil {
		return nil, err
	}
	return f, nil
}

// ImportBox copies the box's files into the box VM's folder, read-only, so the box cache may
// drop the box while goldens still use its disk.
func (p *Provider) ImportBox(ctx context.Context, r reconcile.ImportRequest) (err error) {
	f, err := p.newVM(r.Name, reconcile.RoleBox, func(f *facts) { f.Box, f.Version = r.Box.Name, r.Box.Version })
	if err != nil {
		return fmt.Errorf("import %s: %w", r.Name, err)
	}
	defer p.cleanupOnError(ctx, r.Name, &err)
	dir := p.dir(r.Name)
	src := filepath.Join(r.Dir, BoxDisk)
	if err := copyReadOnly(src, filepath.Join(dir, diskFile)); err != nil {
		return fmt.Errorf("import %s: %w", r.Name, err)
	}
	f.Format = "qcow2"
	for _, k := range []struct {
		file string
		dst  *string
	}{{BoxKernel, &f.Kernel}, {BoxInitrd, &f.Initrd}} {
		if _, err := os.Stat(filepath.Join(r.Dir, k.file)); err != nil {
			continue
		}
		if err := copyReadOnly(filepath.Join(r.Dir, k.file), filepath.Join(dir, k.file)); err != nil {
			return fmt.Errorf("import %s: %w", r.Name, err)
		}
		*k.dst = filepath.Join(dir, k.file)
	}
	if b, err := os.ReadFile(filepath.Join(r.Dir, BoxCmdline)); err == nil {
		f.Cmdline = strings.TrimSpace(string(b))
	}
	if r.Box.Spec != nil {
		f.GuestSSH = r.Box.Spec.SSH.Port
		if r.Box.Spec.Cmdline != "" {
			f.Cmdline = r.Box.Spec.Cmdline // fleet.hcl's box.cmdline replaces the box's own
		}
	}
	f.Phase = reconcile.PhaseReady
	if err := p.write(r.Name, f); err != nil {
		return fmt.Errorf("import %s: %w", r.Name, err)
	}
	return nil
}

// BuildGolden makes an overlay on the box, boots it, provisions it with chef-solo, installs
// the agent's key and saves the running VM's state to state.bin; workers resume from it.
func (p *Provider) BuildGolden(ctx context.Context, r reconcile.GoldenRequest) (err error) {
	box, err := readFacts(p.dir(r.BoxVM))
	if err != nil {
		return fmt.Errorf("build golden %s: box %s: %w", r.Name, r.BoxVM, err)
	}
	img, _ := json.Marshal(r.Pool.Image)
	var image reconcile.Image
	json.Unmarshal(img, &image)
	_, err = p.newVM(r.Name, reconcile.RoleGolden, func(f *facts) {
		f.Pool, f.Golden, f.Image = r.Pool.Name, r.Pool.Hash, &image
		f.Memory, f.CPUs = r.Pool.Memory, r.Pool.CPUs
		f.Backing, f.Format = filepath.Join(p.dir(r.BoxVM), diskFile), box.Format
		f.Kernel, f.Initrd, f.Cmdline, f.GuestSSH = box.Kernel, box.Initrd, box.Cmdline, box.GuestSSH
		f.User = golden.SSHUser(r.Box)
	})
	if err != nil {
		return fmt.Errorf("build golden %s: %w", r.Name, err)
	}
	kept := false
	defer func() {
		if !kept {
			p.cleanupOnError(ctx, r.Name, &err)
		}
	}()
	if err := p.overlay(ctx, r.Name); err != nil {
		return fmt.Errorf("build golden %s: %w", r.Name, err)
	}
	port, err := p.allocatePort(ctx, r.Name)
	if err != nil {
		return fmt.Errorf("build golden %s: %w", r.Name, err)
	}
	f, err := p.start(ctx, r.Name, launch{})
	if err != nil {
		return transient(fmt.Errorf("build golden %s: %w", r.Name, err))
	}
	signers, err := golden.BoxSigners(r.Box)
	if err != nil {
		return fmt.Errorf("build golden %s: %w", r.Name, err)
	}
	c, err := p.waitSSH(ctx, r.Name, port, f.User, "", signers)
	if err != nil {
		return transient(fmt.Errorf("build golden %s: %w", r.Name, err))
	}
	err = golden.Provision(ctx, c, r, p.key.PublicKey(), p.cfg.ProvisionLog)
	if err == nil {
		// Syncs the disk for the snapshot; c may be gone after it (the SSH server restarted).
		err = golden.HardenAndVerify(ctx, c, r, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), p.key)
	}
	c.Close()
	if errors.Is(err, golden.ErrNotHardened) {
		kept = p.reject(r.Name, f, err)
	}
	if err != nil {
		return fmt.Errorf("build golden %s: %w", r.Name, err)
	}
	p.log.Info("golden provisioned", "vm", r.Name, "pool", r.Pool.Name)
	if err := p.saveState(ctx, f, filepath.Join(p.dir(r.Name), stateFile)); err != nil {
		return transient(fmt.Errorf("build golden %s: %w", r.Name, err))
	}
	p.kill(f)
	if err := os.Chmod(filepath.Join(p.dir(r.Name), diskFile), 0o444); err != nil {
		return fmt.Errorf("build golden %s: %w", r.Name, err)
	}
	_, err = p.update(r.Name, func(f *facts) {
		f.PID, f.Start, f.SSHPort = 0, 0, 0
		f.Snapshots = []string{reconcile.SnapshotGolden}
		f.Phase = reconcile.PhaseReady
	})
	if err != nil {
		return fmt.Errorf("build golden %s: %w", r.Name, err)
	}
	return nil
}

// CreateWorker makes an overlay on the golden, resumes the golden's saved state in it (a cold
// boot when the pool's memory or CPUs differ from the golden's), pins its host key, writes the
// ready marker, sets the clock and takes the `ready` snapshot.
func (p *Provider) CreateWorker(ctx context.Context, r reconcile.WorkerRequest) (err error) {
	g, err := readFacts(p.dir(r.Golden))
	if err != nil {
		return fmt.Errorf("create worker %s: golden %s: %w", r.Name, r.Golden, err)
	}
	_, err = p.newVM(r.Name, reconcile.RoleWorker, func(f *facts) {
		f.Pool, f.Golden, f.From = r.Pool.Name, r.Pool.Hash, r.Golden
		f.Memory, f.CPUs = r.Pool.Memory, r.Pool.CPUs
		f.Backing, f.Format = filepath.Join(p.dir(r.Golden), diskFile), "qcow2"
		f.Kernel, f.Initrd, f.Cmdline, f.GuestSSH = g.Kernel, g.Initrd, g.Cmdline, g.GuestSSH
		f.User = g.User
		f.Network, f.Egress = networkOf(r.Pool)
	})
	if err != nil {
		return fmt.Errorf("create worker %s: %w", r.Name, err)
	}
	defer p.cleanupOnError(ctx, r.Name, &err)
	if err := p.overlay(ctx, r.Name); err != nil {
		return fmt.Errorf("create worker %s: %w", r.Name, err)
	}
	port, err := p.allocatePort(ctx, r.Name)
	if err != nil {
		return fmt.Errorf("create worker %s: %w", r.Name, err)
	}
	l := launch{}
	if g.Memory == r.Pool.Memory && g.CPUs == r.Pool.CPUs {
		l.incoming = filepath.Join(p.dir(r.Golden), stateFile)
	}
	f, err := p.start(ctx, r.Name, l)
	if err != nil {
		return transient(fmt.Errorf("create worker %s: %w", r.Name, err))
	}
	if err := p.waitRunning(ctx, f); err != nil {
		return transient(fmt.Errorf("create worker %s: %w", r.Name, err))
	}
	c, err := p.waitSSH(ctx, r.Name, port, f.User, "", nil)
	if err != nil {
		return transient(fmt.Errorf("create worker %s: %w", r.Name, err))
	}
	hostKey := guest.FormatHostKey(c.HostKey())
	marker := "ready " + r.Name + " " + strconv.FormatInt(f.Created.Unix(), 10) + " " + strconv.Itoa(f.PID)
	err = setClock(ctx, c)
	if err == nil {
		err = golden.WriteMarker(ctx, c, marker)
	}
	c.Close()
	if err != nil {
		return transient(fmt.Errorf("create worker %s: %w", r.Name, err))
	}
	if err := p.hmp(ctx, f, "savevm "+reconcile.SnapshotReady); err != nil {
		return transient(fmt.Errorf("create worker %s: savevm: %w", r.Name, err))
	}
	_, err = p.update(r.Name, func(f *facts) {
		f.HostKey, f.Marker = hostKey, marker
		f.Snapshots = []string{reconcile.SnapshotReady}
		f.Phase = reconcile.PhaseReady
	})
	if err != nil {
		return fmt.Errorf("create worker %s: %w", r.Name, err)
	}
	return nil
}

// StartWorker starts a stopped worker from its ready snapshot and waits for SSH with its
// pinned key, then sets the guest clock. A running worker is left alone.
func (p *Provider) StartWorker(ctx context.Context, vm reconcile.VMRef) error {
	f, err := readFacts(p.dir(vm.Name))
	if err != nil {
		return fmt.Errorf("start worker %s: %w", vm.Name, err)
	}
	if f.running() {
		return nil
	}
	if f, err = p.start(ctx, vm.Name, launch{loadvm: reconcile.SnapshotReady}); err != nil {
		return transient(fmt.Errorf("start worker %s: %w", vm.Name, err))
	}
	if err := p.waitRunning(ctx, f); err != nil {
		return transient(fmt.Errorf("start worker %s: %w", vm.Name, err))
	}
	c, err := p.waitSSH(ctx, vm.Name, f.SSHPort, f.User, f.HostKey, nil)
	if err != nil {
		return transient(fmt.Errorf("start worker %s: %w", vm.Name, err))
	}
	defer c.Close()
	return setClock(ctx, c)
}

// Destroy kills the VM's process (when pid and start time match) and removes its folder. Only
// VMs with this host's owner (or folders without facts, the debris of a creation) are
// destroyed.
func (p *Provider) Destroy(ctx context.Context, vm reconcile.VMRef) error {
	name, incarnation := splitID(vm.ID)
	if name == "" {
		name = vm.Name
	}
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return fmt.Errorf("destroy %q: invalid name", name)
	}
	dir := p.dir(name)
	f, err := readFacts(dir)
	switch {
	case err == nil && incarnation != "" && f.Incarnation != incarnation:
		return nil // that VM is gone already; the folder holds its successor
	case errors.Is(err, os.ErrNotExist):
		if _, serr := os.Stat(dir); errors.Is(serr, os.ErrNotExist) {
			return nil
		}
	case err != nil:
	case f.Owner != p.cfg.Owner:
		return fmt.Errorf("destroy %s: not owned by %s", name, p.cfg.Owner)
	default:
		p.kill(f)
		if f.QMP != "" && !strings.HasPrefix(f.QMP, dir) {
			os.Remove(f.QMP)
		}
	}
	killStrays(dir)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("destroy %s: %w", name, err)
	}
	return nil
}

// write replaces the VM's facts with f.
func (p *Provider) write(name string, f *facts) error {
	p.factsMu.Lock()
	defer p.factsMu.Unlock()
	return writeFacts(p.dir(name), f)
}

// overlay creates the VM's disk as a qcow2 overlay on its backing file.
func (p *Provider) overlay(ctx context.Context, name string) error {
	f, err := readFacts(p.dir(name))
	if err != nil {
		return err
	}
	return qemuImg(ctx, "create", "-q", "-f", "qcow2", "-b", f.Backing, "-F", f.Format, filepath.Join(p.dir(name), diskFile))
}

// saveState migrates the running VM's state into file and waits until it completes.
func (p *Provider) saveState(ctx context.Context, f *facts, file string) error {
	c, err := p.qmp(ctx, f)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Execute(ctx, "migrate-set-parameters", map[string]any{"max-bandwidth": int64(10) << 30}); err != nil {
		return err
	}
	if _, err := c.Execute(ctx, "migrate", map[string]any{"uri": "exec:cat > " + shellQuote(file)}); err != nil {
		return err
	}
	deadline := time.Now().Add(p.cfg.BootTimeout)
	for time.Now().Before(deadline) {
		ret, err := c.Execute(ctx, "query-migrate", nil)
		if err != nil {
			return err
		}
		var st struct {
			Status    string `json:"status"`
			ErrorDesc string `json:"error-desc"`
		}
		json.Unmarshal(ret, &st)
		switch st.Status {
		case "completed":
			return nil
		case "failed", "cancelled":
			return fmt.Errorf("save state: migration %s: %s", st.Status, st.ErrorDesc)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond): // QMP has no blocking wait for completion
		}
	}
	return errors.New("save state: migration did not complete")
}

// cleanupOnError destroys a VM this provider failed to make, on a context of its own so that
// a cancelled action still leaves no process or overlay behind.
func (p *Provider) cleanupOnError(ctx context.Context, name string, err *error) {
	if *err == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if derr := p.Destroy(cctx, reconcile.VMRef{Name: name, ID: name}); derr != nil {
		p.log.Warn("cleanup failed", "vm", name, "err", derr)
	}
}

func qemuImg(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "qemu-img", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img %s: %w: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}

func copyReadOnly(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func transient(err error) error { return reconcile.Transient(err) }

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// reject stops a golden that failed its check and records why (reconcile.KeyRejected),
// keeping it without its snapshot so the plan says why it is destroyed and rebuilt. It reports
// whether the golden was kept; when not, the caller destroys it.
func (p *Provider) reject(name string, f *facts, why error) bool {
	p.kill(f)
	_, err := p.update(name, func(f *facts) {
		f.PID, f.Start, f.SSHPort = 0, 0, 0
		f.Rejected = why.Error()
	})
	if err != nil {
		p.log.Warn("record rejected golden", "vm", name, "err", err)
		return false
	}
	p.log.Warn("golden not used", "vm", name, "why", why.Error())
	return true
}
