// `agent doctor --deep`: a real smoke test of the VirtualBox VM lifecycle on this host, on VMs
// the check makes for itself and removes afterwards. Every VM it creates carries the extradata
// fleet/doctor=<host name> (and its name is written to an intent file in state_dir before the
// VM exists), so a rerun after a killed run removes exactly what the killed run left and never
// anything else. The steps' timings are printed as they happen and again as a table: the
// latency profile of this host.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/spec"
	"github.com/fleet-agent/fleet/vbox"
	"github.com/fleet-agent/fleet/vbox/vboxsim"
)

const (
	// deepPrefix starts the name of every VM the deep check creates.
	deepPrefix = "fleet-doctor-"
	// keyDoctor marks a VM as the deep check's: its value is the host name of the check
	// that made it. The reconciler ignores such VMs (they have no fleet/owner).
	keyDoctor = "fleet/doctor"
	// deepDirName is the folder in state_dir holding the intent file and the made box.
	deepDirName   = "doctor-deep"
	deepIntent    = "intent"
	deepProbe     = "fleet-doctor-probe"
	deepTimeout   = 15 * time.Minute
	deepCleanTime = 2 * time.Minute
)

// deepOpts are the flags of the deep check.
type deepOpts struct {
	deep, force bool
	box         string
	qemuBox     string
	bootTimeout time.Duration
}

func addDeepFlags(cmd *cobra.Command) *deepOpts {
	o := &deepOpts{}
	cmd.Flags().BoolVar(&o.deep, "deep", false, "after the checks, create, boot, snapshot, restore and delete a VM of its own on every provider the fleet uses")
	cmd.Flags().StringVar(&o.box, "box", "", "with --deep: import this unpacked box (`box.ovf` or its folder) instead of the tiny box doctor makes")
	cmd.Flags().StringVar(&o.qemuBox, "qemu-box", "", "with --deep: use this unpacked QEMU box (a folder with box.qcow2 and, for direct kernel boot, vmlinuz, initrd.img, cmdline) instead of the tiny test image")
	cmd.Flags().BoolVar(&o.force, "force", false, "with --deep: run even while 'agent run' serves on this host")
	cmd.Flags().DurationVar(&o.bootTimeout, "boot-timeout", 3*time.Minute, "with --deep: how long a started VM may take to answer SSH")
	return o
}

// deepStepNames are the steps of the VirtualBox deep check, in order.
var deepStepNames = []string{
	"clean leftovers", "make box", "import", "snapshot box", "linked clone", "ready snapshot",
	"ssh forward", "start headless", "reach ssh", "run command", "write file", "power off",
	"restore ready", "start again", "file gone", "delete",
}

// deepRun is one VirtualBox deep check.
type deepRun struct {
	d       *vbox.Driver
	f       *spec.Fleet
	o       *deepOpts
	w       io.Writer
	owner   string
	dir     string // state_dir/doctor-deep
	boxName string
	clone   string
	ovf     string
	port    int
	deepGuest
	*deepSteps
}

// doctorDeepFromConfig loads fleet.hcl again (the usual checks reported any problem with it)
// and runs the deep check.
func (a *app) doctorDeepFromConfig(w io.Writer, o *deepOpts, record string) int {
	path, err := a.configFile()
	if err != nil {
		return 1
	}
	f, diags := spec.NewLoader().Load(path)
	if f == nil || diags.HasErrors() {
		fmt.Fprintf(w, "%-4s  deep: fleet.hcl does not load; fix it first\n", sevFail)
		return 1
	}
	return a.doctorDeep(w, f, o, record)
}

// doctorDeep runs the deep check for every provider the fleet uses and returns how many
// steps failed (a refusal counts as one).
func (a *app) doctorDeep(w io.Writer, f *spec.Fleet, o *deepOpts, record string) int {
	fmt.Fprintln(w, "\nDeep check: a VM lifecycle on this host, on VMs doctor makes and removes itself.")
	if !o.force {
		sock := filepath.Join(f.Host.StateDir, control.SocketName)
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := control.Call(cctx, sock, control.Request{Op: control.OpStatus}, nil)
		cancel()
		if err == nil {
			fmt.Fprintf(w, "%-4s  deep: 'agent run' serves on this host (pid %d); the deep check would compete with its VMs\n", sevFail, st.Status.PID)
			fmt.Fprintln(w, "      fix: stop it first (systemctl stop fleet-agent), or pass --force")
			return 1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, deepTimeout)
	defer cancel()
	var runs []*deepSteps
	if usesProvider(f, spec.ProviderVirtualBox) {
		runs = append(runs, a.deepVBox(ctx, w, f, o, record))
	}
	if usesProvider(f, spec.ProviderQEMU) {
		runs = append(runs, a.deepQEMU(ctx, w, f, o))
	}
	return printDeepTable(w, runs)
}

func (a *app) deepVBox(ctx context.Context, w io.Writer, f *spec.Fleet, o *deepOpts, record string) *deepSteps {
	d := vbox.New(vbox.Config{Manage: f.VirtualBox.Manage, MaxParallel: f.VirtualBox.MaxParallel, CallTimeout: f.VirtualBox.CallTimeout,
		PortRange: f.VirtualBox.SSHPortRange, Record: record}, nil) // default retries: they cover the lock lag after a poweroff
	defer d.Close()
	run := strconv.FormatInt(time.Now().UnixNano()%1e10, 36)
	r := &deepRun{d: d, f: f, o: o, w: w, owner: f.Host.Name, dir: filepath.Join(f.Host.StateDir, deepDirName),
		boxName: deepPrefix + run + "-box", clone: deepPrefix + run + "-clone",
		deepSteps: &deepSteps{w: w, provider: "virtualbox", planned: len(deepStepNames)}}
	r.runSteps(ctx)
	return r.deepSteps
}

// runSteps runs every step; after the first failure only the final delete runs.
func (r *deepRun) runSteps(ctx context.Context) {
	r.step(ctx, "clean leftovers", func(ctx context.Context) (string, error) {
		n, err := r.cleanup(ctx)
		return fmt.Sprintf("removed %d VM(s) an earlier run left", n), err
	})
	r.step(ctx, "make box", r.makeBox)
	r.step(ctx, "import", func(ctx context.Context) (string, error) {
		if err := r.writeIntent(); err != nil {
			return "", err
		}
		ref, err := r.d.Import(ctx, r.ovf, r.boxName, nil)
		if err != nil {
			return "", err
		}
		return ref.UUID, r.d.SetExtraData(ctx, ref.UUID, keyDoctor, r.owner)
	})
	r.step(ctx, "snapshot box", func(ctx context.Context) (string, error) {
		_, err := r.d.TakeSnapshot(ctx, r.boxName, "base", false)
		return "base", err
	})
	r.step(ctx, "linked clone", func(ctx context.Context) (string, error) {
		ref, err := r.d.Clone(ctx, r.boxName, vbox.CloneOptions{Name: r.clone, Snapshot: "base", Linked: true}, nil)
		if err != nil {
			return "", err
		}
		return r.clone, r.d.SetExtraData(ctx, ref.UUID, keyDoctor, r.owner)
	})
	r.step(ctx, "ready snapshot", func(ctx context.Context) (string, error) {
		_, err := r.d.TakeSnapshot(ctx, r.clone, "ready", false)
		return "ready", err
	})
	r.step(ctx, "ssh forward", func(ctx context.Context) (string, error) {
		fwd, err := r.d.AllocateForward(ctx, r.clone, "ssh", 22)
		r.port = fwd.HostPort
		return fmt.Sprintf("127.0.0.1:%d", fwd.HostPort), err
	})
	r.step(ctx, "start headless", func(ctx context.Context) (string, error) { return "", r.d.Start(ctx, r.clone) })
	r.step(ctx, "reach ssh", r.dial)
	r.step(ctx, "run command", r.runCommand)
	r.step(ctx, "write file", r.writeFile)
	r.step(ctx, "power off", func(ctx context.Context) (string, error) {
		r.closeClient()
		return "", r.d.PowerOff(ctx, r.clone)
	})
	r.step(ctx, "restore ready", func(ctx context.Context) (string, error) {
		return "ready", r.d.RestoreSnapshot(ctx, r.clone, "ready")
	})
	r.step(ctx, "start again", func(ctx context.Context) (string, error) {
		if err := r.d.Start(ctx, r.clone); err != nil {
			return "", err
		}
		return r.dial(ctx)
	})
	r.step(ctx, "file gone", r.fileGone)
	// Delete always runs, on a context of its own so an interrupt still cleans up.
	r.closeClient()
	r.always(ctx, "delete", func(ctx context.Context) (string, error) {
		n, err := r.cleanup(ctx)
		if err == nil {
			err = removeDeepDir(r.dir, "box")
		}
		return fmt.Sprintf("removed %d VM(s)", n), err
	})
}

// makeBox makes the tiny box (or checks the one given with --box).
func (r *deepRun) makeBox(context.Context) (string, error) {
	if r.o.box != "" {
		p := r.o.box
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			p = filepath.Join(p, "box.ovf")
		}
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("--box: %w", err)
		}
		r.ovf = p
		return p, nil
	}
	keys := ssh.MarshalAuthorizedKey(guest.VagrantInsecureSigner().PublicKey())
	p, err := vboxsim.MakeBox(filepath.Join(r.dir, "box"), vboxsim.BoxOptions{Name: "fleet-doctor", AuthorizedKeys: keys, Memory: 64})
	if err != nil {
		return "", fmt.Errorf("make box: %w", err)
	}
	r.ovf = p
	return "tiny box in " + filepath.Dir(p), nil
}

// dial waits for the clone's SSH (Vagrant's insecure key, user vagrant, the host key trusted
// on first use: the VM is ours and lives for a minute).
func (r *deepRun) dial(ctx context.Context) (string, error) {
	r.closeClient()
	c, err := guest.WaitForSSH(ctx, guest.Config{VM: r.clone, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)), User: "vagrant",
		Signers: []ssh.Signer{guest.VagrantInsecureSigner()}, TrustOnFirstUse: true}, r.o.bootTimeout)
	if err != nil {
		return "", err
	}
	r.client = c
	return "vagrant@127.0.0.1:" + strconv.Itoa(r.port), nil
}

// writeIntent records the names of the VMs about to be created, so a run killed before their
// extradata is written is still cleaned up by the next.
func (r *deepRun) writeIntent() error {
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.dir, deepIntent), []byte(r.boxName+"\n"+r.clone+"\n"), 0o644)
}

// cleanup removes every VM this host's deep checks own: named in the intent file, or marked
// fleet/doctor=<host>. Clones go before the boxes they are linked to.
func (r *deepRun) cleanup(ctx context.Context) (int, error) {
	intent := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(r.dir, deepIntent)); err == nil {
		for _, n := range strings.Fields(string(b)) {
			intent[n] = true
		}
	}
	vms, err := r.d.List(ctx)
	if err != nil {
		return 0, err
	}
	var ours []vbox.VMRef
	for _, vm := range vms {
		if !strings.HasPrefix(vm.Name, deepPrefix) {
			continue
		}
		v, ok, err := r.d.GetExtraData(ctx, vm.UUID, keyDoctor)
		if err != nil && !errors.Is(err, vbox.ErrNotFound) {
			return 0, err
		}
		if (ok && v == r.owner) || (!ok && intent[vm.Name]) {
			ours = append(ours, vm)
		}
	}
	sort.SliceStable(ours, func(i, j int) bool {
		return strings.HasSuffix(ours[i].Name, "-clone") && !strings.HasSuffix(ours[j].Name, "-clone")
	})
	n := 0
	for _, vm := range ours {
		st, err := r.d.State(ctx, vm.UUID)
		if errors.Is(err, vbox.ErrNotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		if vbox.IsRunning(st) || vbox.IsTransient(st) {
			if err := r.d.PowerOff(ctx, vm.UUID); err != nil && !errors.Is(err, vbox.ErrInvalidState) {
				return n, fmt.Errorf("%s: %w", vm.Name, err)
			}
		}
		if err := r.d.Unregister(ctx, vm.UUID); err != nil && !errors.Is(err, vbox.ErrNotFound) {
			return n, fmt.Errorf("%s: %w", vm.Name, err)
		}
		n++
	}
	if err := os.Remove(filepath.Join(r.dir, deepIntent)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return n, err
	}
	return n, nil
}

// removeDeepDir removes what one provider's check put in dir (state_dir/doctor-deep), then dir
// itself once no other provider's check has anything left there.
func removeDeepDir(dir string, own ...string) error {
	for _, name := range own {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		if entries, rerr := os.ReadDir(dir); rerr == nil && len(entries) > 0 {
			return nil // another provider's leftovers: its own cleanup removes them
		}
		return err
	}
	return nil
}
