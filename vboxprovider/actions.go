// The provider's mutations: import a box, build a golden, create, start and destroy workers.
// Each keeps the crash-safety contract of reconcile.Provider: the first thing done to a new VM
// is fleet/phase=creating (clones inherit fleet/owner from their source; an import leaves an
// intent file until its facts are written), and fleet/phase=ready is the last.

package vboxprovider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/fleet-agent/fleet/golden"
	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/sandbox"
	"github.com/fleet-agent/fleet/vbox"
)

// keyUser is the extradata key of a worker's SSH build user, which StartWorker logs in as.
const keyUser = "fleet/user"

// forwardName is the NAT rule that forwards a host port on 127.0.0.1 to the guest's SSH.
const forwardName = "ssh"

// cleanupTimeout bounds the removal of a half-made VM after a failure.
const cleanupTimeout = 2 * time.Minute

// ImportBox imports the unpacked box as box VM r.Name.
func (p *Provider) ImportBox(ctx context.Context, r reconcile.ImportRequest) error {
	defer p.invalidate(r.Name)
	before, err := p.d.List(ctx)
	if err != nil {
		return mark(fmt.Errorf("import %s: %w", r.Name, err))
	}
	intent := p.intentPath(r.Name)
	if err := os.MkdirAll(filepath.Dir(intent), 0o755); err != nil {
		return fmt.Errorf("import %s: %w", r.Name, err)
	}
	if err := os.WriteFile(intent, []byte(p.cfg.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return fmt.Errorf("import %s: %w", r.Name, err)
	}
	ref, err := p.d.Import(ctx, filepath.Join(r.Dir, "box.ovf"), r.Name, nil)
	if err != nil {
		p.cleanupNew(ctx, r.Name, before)
		return mark(fmt.Errorf("import %s: %w", r.Name, err))
	}
	facts := p.creating(reconcile.RoleBox)
	facts = append(facts, kv{reconcile.KeyBox, r.Box.Name}, kv{reconcile.KeyVersion, r.Box.Version})
	if err := p.setFacts(ctx, ref.UUID, facts...); err != nil {
		p.cleanup(ctx, r.Name, ref.UUID)
		return mark(fmt.Errorf("import %s: %w", r.Name, err))
	}
	os.Remove(intent)
	if err := p.setFacts(ctx, ref.UUID, kv{reconcile.KeyPhase, reconcile.PhaseReady}); err != nil {
		return mark(fmt.Errorf("import %s: %w", r.Name, err))
	}
	return nil
}

// BuildGolden clones the box VM, boots it, installs the agent's key (removing Vagrant's
// insecure one), runs chef-solo, shuts it down and snapshots it as golden.
func (p *Provider) BuildGolden(ctx context.Context, r reconcile.GoldenRequest) (err error) {
	defer p.invalidate(r.Name)
	ref, err := p.d.Clone(ctx, r.BoxVM, vbox.CloneOptions{Name: r.Name}, nil)
	if err != nil {
		p.cleanup(ctx, r.Name, "")
		return mark(fmt.Errorf("build golden %s: clone: %w", r.Name, err))
	}
	kept := false
	defer func() {
		if err != nil && !kept {
			p.cleanup(ctx, r.Name, ref.UUID)
		}
	}()
	img, _ := json.Marshal(r.Pool.Image)
	facts := append(p.creating(reconcile.RoleGolden), kv{reconcile.KeyPool, r.Pool.Name}, kv{reconcile.KeyGolden, r.Pool.Hash},
		kv{reconcile.KeyImage, string(img)}, kv{reconcile.KeyBox, ""}, kv{reconcile.KeyVersion, ""})
	if err := p.setFacts(ctx, ref.UUID, facts...); err != nil {
		return mark(fmt.Errorf("build golden %s: %w", r.Name, err))
	}
	if err := p.configure(ctx, ref.UUID, r.Pool.Memory, r.Pool.CPUs); err != nil {
		return mark(fmt.Errorf("build golden %s: %w", r.Name, err))
	}
	fwd, err := p.d.AllocateForward(ctx, ref.UUID, forwardName, sshPort(r.Box))
	if err != nil {
		return mark(fmt.Errorf("build golden %s: %w", r.Name, err))
	}
	if err := p.d.Start(ctx, ref.UUID); err != nil {
		return mark(fmt.Errorf("build golden %s: %w", r.Name, err))
	}
	signers, err := golden.BoxSigners(r.Box)
	if err != nil {
		return fmt.Errorf("build golden %s: %w", r.Name, err)
	}
	c, err := p.waitSSH(ctx, r.Name, fwd.HostPort, golden.SSHUser(r.Box), "", signers)
	if err != nil {
		return mark(fmt.Errorf("build golden %s: %w", r.Name, err))
	}
	err = golden.Provision(ctx, c, r, p.key.PublicKey(), p.cfg.ProvisionLog)
	if err == nil {
		err = golden.HardenAndVerify(ctx, c, r, net.JoinHostPort("127.0.0.1", strconv.Itoa(fwd.HostPort)), p.key)
	}
	c.Close()
	if errors.Is(err, golden.ErrNotHardened) {
		kept = p.reject(ctx, r.Name, ref.UUID, err)
	}
	if err != nil {
		return fmt.Errorf("build golden %s: %w", r.Name, err)
	}
	p.log.Info("golden provisioned", "vm", r.Name, "pool", r.Pool.Name)
	if err := p.d.Shutdown(ctx, ref.UUID, p.cfg.ShutdownGrace); err != nil {
		return mark(fmt.Errorf("build golden %s: %w", r.Name, err))
	}
	// Clones must not inherit the golden's port.
	if err := p.d.DeleteForward(ctx, ref.UUID, 1, forwardName); err != nil && !errors.Is(err, vbox.ErrNotFound) {
		return mark(fmt.Errorf("build golden %s: %w", r.Name, err))
	}
	if _, err := p.d.TakeSnapshot(ctx, ref.UUID, reconcile.SnapshotGolden, false); err != nil {
		return mark(fmt.Errorf("build golden %s: %w", r.Name, err))
	}
	if err := p.setFacts(ctx, ref.UUID, kv{reconcile.KeyPhase, reconcile.PhaseReady}); err != nil {
		return mark(fmt.Errorf("build golden %s: %w", r.Name, err))
	}
	return nil
}

// CreateWorker makes worker r.Name as a linked clone of the golden's golden snapshot.
func (p *Provider) CreateWorker(ctx context.Context, r reconcile.WorkerRequest) (err error) {
	defer p.invalidate(r.Name)
	before, err := p.d.List(ctx)
	if err != nil {
		return mark(fmt.Errorf("create worker %s: %w", r.Name, err))
	}
	ref, err := p.d.Clone(ctx, r.Golden, vbox.CloneOptions{Name: r.Name, Snapshot: reconcile.SnapshotGolden, Linked: true}, nil)
	if err != nil {
		p.cleanupNew(ctx, r.Name, before)
		return mark(fmt.Errorf("create worker %s: clone: %w", r.Name, err))
	}
	defer func() {
		if err != nil {
			p.cleanup(ctx, r.Name, ref.UUID)
		}
	}()
	facts := append(p.creating(reconcile.RoleWorker), kv{reconcile.KeyPool, r.Pool.Name}, kv{reconcile.KeyGolden, r.Pool.Hash},
		kv{reconcile.KeyImage, ""}, kv{reconcile.KeyHostKey, ""}, kv{keyUser, golden.SSHUser(r.Box)},
		kv{reconcile.KeyNetwork, r.Pool.Network})
	if err := p.setFacts(ctx, ref.UUID, facts...); err != nil {
		return mark(fmt.Errorf("create worker %s: %w", r.Name, err))
	}
	if err := p.configure(ctx, ref.UUID, r.Pool.Memory, r.Pool.CPUs); err != nil {
		return mark(fmt.Errorf("create worker %s: %w", r.Name, err))
	}
	box := r.Box
	fwd, err := p.d.AllocateForward(ctx, ref.UUID, forwardName, sshPort(box))
	if err != nil {
		return mark(fmt.Errorf("create worker %s: %w", r.Name, err))
	}
	if err := p.d.Start(ctx, ref.UUID); err != nil {
		return mark(fmt.Errorf("create worker %s: %w", r.Name, err))
	}
	c, err := p.waitSSH(ctx, r.Name, fwd.HostPort, golden.SSHUser(box), "", nil)
	if err != nil {
		return mark(fmt.Errorf("create worker %s: %w", r.Name, err))
	}
	hostKey := guest.FormatHostKey(c.HostKey())
	marker := "ready " + r.Name + " " + ref.UUID
	err = golden.WriteMarker(ctx, c, marker)
	c.Close()
	if err != nil {
		return mark(fmt.Errorf("create worker %s: %w", r.Name, err))
	}
	if _, err := p.d.TakeSnapshot(ctx, ref.UUID, reconcile.SnapshotReady, true); err != nil {
		return mark(fmt.Errorf("create worker %s: %w", r.Name, err))
	}
	if err := p.setFacts(ctx, ref.UUID, kv{reconcile.KeyHostKey, hostKey}, kv{sandbox.KeyMarker, marker}, kv{reconcile.KeyPhase, reconcile.PhaseReady}); err != nil {
		return mark(fmt.Errorf("create worker %s: %w", r.Name, err))
	}
	return nil
}

// StartWorker restores a stopped worker's ready snapshot and starts it, then checks it answers
// SSH with its pinned host key.
func (p *Provider) StartWorker(ctx context.Context, vm reconcile.VMRef) error {
	defer p.invalidate(vm.Name)
	id := refID(vm)
	info, err := p.d.Info(ctx, id)
	if err != nil {
		return mark(fmt.Errorf("start worker %s: %w", vm.Name, err))
	}
	if vbox.IsRunning(info.State) {
		return nil
	}
	if info.Snapshots != nil && info.Snapshots.Find(reconcile.SnapshotReady) != nil {
		if err := p.d.RestoreSnapshot(ctx, id, reconcile.SnapshotReady); err != nil {
			return mark(fmt.Errorf("start worker %s: %w", vm.Name, err))
		}
	}
	if err := p.d.Start(ctx, id); err != nil {
		return mark(fmt.Errorf("start worker %s: %w", vm.Name, err))
	}
	port := 0
	for _, f := range info.Forwards {
		if f.Name == forwardName {
			port = f.HostPort
		}
	}
	if port == 0 {
		return fmt.Errorf("start worker %s: no %s forward", vm.Name, forwardName)
	}
	c, err := p.waitSSH(ctx, vm.Name, port, info.ExtraData[keyUser], info.ExtraData[reconcile.KeyHostKey], nil)
	if err != nil {
		return mark(fmt.Errorf("start worker %s: %w", vm.Name, err))
	}
	return c.Close()
}

// Destroy powers the VM off when it runs and unregisters it with its files. Only VMs carrying
// this host's fleet/owner (or an import intent) are destroyed; anything else is refused.
func (p *Provider) Destroy(ctx context.Context, vm reconcile.VMRef) error {
	defer p.invalidate(vm.Name)
	id := refID(vm)
	info, err := p.d.Info(ctx, id)
	if vboxNotFound(err) {
		os.Remove(p.intentPath(vm.Name))
		return nil
	}
	if err != nil {
		return mark(fmt.Errorf("destroy %s: %w", vm.Name, err))
	}
	if _, ours := p.toVM(info); !ours {
		return fmt.Errorf("destroy %s: not owned by %s", vm.Name, p.cfg.Owner)
	}
	if vbox.IsRunning(info.State) || vbox.IsTransient(info.State) {
		if err := p.d.PowerOff(ctx, id); err != nil && !errors.Is(err, vbox.ErrInvalidState) {
			return mark(fmt.Errorf("destroy %s: %w", vm.Name, err))
		}
	}
	if err := p.d.Unregister(ctx, id); err != nil && !vboxNotFound(err) {
		return mark(fmt.Errorf("destroy %s: %w", vm.Name, err))
	}
	os.Remove(p.intentPath(vm.Name))
	return nil
}

// kv is one extradata entry.
type kv struct{ key, value string }

// creating returns the facts a new VM gets first: phase creating before the rest.
func (p *Provider) creating(role string) []kv {
	return []kv{
		{reconcile.KeyPhase, reconcile.PhaseCreating},
		{reconcile.KeyOwner, p.cfg.Owner},
		{reconcile.KeyCreated, p.cfg.Now().UTC().Format(time.RFC3339)},
		{reconcile.KeyRole, role},
	}
}

// setFacts writes extradata in order (an empty value deletes the key).
func (p *Provider) setFacts(ctx context.Context, vm string, facts ...kv) error {
	for _, f := range facts {
		if err := p.d.SetExtraData(ctx, vm, f.key, f.value); err != nil {
			return err
		}
	}
	return nil
}

// cleanup removes a VM this provider just failed to make, by UUID when known. It runs on a
// context of its own so that a cancelled action still leaves no debris when it can.
func (p *Provider) cleanup(ctx context.Context, name, uuid string) {
	if uuid == "" {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := p.Destroy(cctx, reconcile.VMRef{Name: name, ID: uuid}); err != nil {
		p.log.Warn("cleanup failed", "vm", name, "err", err)
	}
}

// cleanupNew removes VMs named name that were not registered before a failed clone and that
// carry this host's owner (a clone that died half way keeps its source's facts). A foreign VM
// of the same name is never touched.
func (p *Provider) cleanupNew(ctx context.Context, name string, before []vbox.VMRef) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	known := map[string]bool{}
	for _, r := range before {
		known[r.UUID] = true
	}
	refs, err := p.d.List(cctx)
	if err != nil {
		return
	}
	for _, r := range refs {
		if r.Name == name && !known[r.UUID] {
			p.cleanup(cctx, name, r.UUID)
		}
	}
}

// mark makes driver errors that real drivers retry reconcile.Transient.
func mark(err error) error {
	if err != nil && (vbox.Retryable(err) || errors.Is(err, guest.ErrConnectionLost)) {
		return reconcile.Transient(err)
	}
	return err
}

func vboxNotFound(err error) bool { return err != nil && errors.Is(err, vbox.ErrNotFound) }

func refID(vm reconcile.VMRef) string {
	if vm.ID != "" {
		return vm.ID
	}
	return vm.Name
}

// reject powers off a golden that failed its check and records why (reconcile.KeyRejected),
// keeping it without its snapshot so the plan says why it is destroyed and rebuilt. It reports
// whether the golden was kept; when not, the caller destroys it.
func (p *Provider) reject(ctx context.Context, name, uuid string, why error) bool {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := p.d.PowerOff(cctx, uuid); err != nil {
		p.log.Warn("power off rejected golden", "vm", name, "err", err)
		return false
	}
	if err := p.setFacts(cctx, uuid, kv{reconcile.KeyRejected, why.Error()}); err != nil {
		p.log.Warn("record rejected golden", "vm", name, "err", err)
		return false
	}
	p.log.Warn("golden not used", "vm", name, "why", why.Error())
	return true
}
