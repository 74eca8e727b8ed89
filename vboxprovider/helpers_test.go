package vboxprovider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/chef/chefsim"
	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/internal/ports/portstest"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/reconcile/boxcache"
	"github.com/fleet-agent/fleet/spec"
	"github.com/fleet-agent/fleet/vbox"
	"github.com/fleet-agent/fleet/vbox/vboxsim"
	"github.com/fleet-agent/fleet/vbox/vboxsim/simtest"
)

// env is one simulated build host: a VirtualBox simulator, a fleet folder with a box file and
// cookbooks, a state directory, and the real driver, provider and box cache over them.
type env struct {
	t        testing.TB
	sim      *simtest.Sim
	dir      string // fleet.hcl, boxes, cookbooks
	stateDir string
	ports    [2]int
	driver   *vbox.Driver
	prov     *Provider
	cache    *boxcache.Cache
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvBox(t, nil)
}

// newEnvBox is newEnv with prepare (when not nil) changing the box's disk before it is packed.
func newEnvBox(t testing.TB, prepare func(disk string)) *env {
	t.Helper()
	sim := simtest.New(t)
	e := &env{t: t, sim: sim, dir: t.TempDir(), stateDir: t.TempDir()}
	// A random range keeps parallel test processes from fighting over the guests' ports.
	e.ports = portstest.Range(t)
	// Like a Vagrant base box: vagrant and root have the password "vagrant", sshd takes it.
	ovf := sim.MakeBox(t, vboxsim.BoxOptions{AuthorizedKeys: []byte(guest.VagrantInsecurePublicKey + "\n"),
		Bins: []string{chefsim.Binary(t)}, Password: "vagrant"})
	if prepare != nil {
		prepare(filepath.Join(filepath.Dir(ovf), "box-disk1.vmdk"))
	}
	for _, v := range []string{"2.0.0", "2.1.0"} {
		f, err := os.Create(filepath.Join(e.dir, "lucid32-"+v+".box"))
		if err != nil {
			t.Fatal(err)
		}
		if err := boxcache.Pack(f, filepath.Dir(ovf)); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	for path, body := range map[string]string{
		"cookbooks/git/metadata.rb":        "name \"git\"\nversion \"1.0.0\"\n",
		"cookbooks/git/recipes/default.rb": "log \"git installed\"\n",
		"cookbooks/rvm/metadata.rb":        "name \"rvm\"\nversion \"1.0.0\"\n",
		"cookbooks/rvm/recipes/multi.rb":   "log \"rubies installed\"\n",
	} {
		p := filepath.Join(e.dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.driver = e.newDriver(4)
	e.prov = e.newProvider(e.driver)
	e.cache = &boxcache.Cache{Dir: filepath.Join(e.stateDir, "boxes")}
	return e
}

func (e *env) newDriver(maxParallel int) *vbox.Driver {
	return vbox.New(vbox.Config{Manage: e.sim.Bin, Env: e.sim.Env(), MaxParallel: maxParallel, PortRange: e.ports,
		LockDir: filepath.Join(e.stateDir, "locks"), RetryBase: 20 * time.Millisecond, PollInterval: 50 * time.Millisecond,
		CallTimeout: 2 * time.Minute}, nil)
}

func (e *env) newProvider(d *vbox.Driver) *Provider {
	p, err := New(d, Config{Owner: "build-01", StateDir: e.stateDir, BootTimeout: 30 * time.Second,
		ShutdownGrace: 10 * time.Second, SSHDialTimeout: 5 * time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// fleetSpec is what a test varies in fleet.hcl.
type fleetSpec struct {
	vms     int
	version string
	recipes []string
}

// fleetHCL renders the fleet.
func (e *env) fleetHCL(f fleetSpec) string {
	if f.version == "" {
		f.version = "2.0.0"
	}
	if f.recipes == nil {
		f.recipes = []string{"git"}
	}
	return fmt.Sprintf(`host {
  name      = "build-01"
  state_dir = %q
}
virtualbox {
  manage         = %q
  max_parallel   = 4
  ssh_port_range = [%d, %d]
}
box "lucid32" {
  version = %q
  url     = "file://%s/lucid32-%s.box"
}
pool "ruby" {
  box    = "lucid32"
  vms    = %d
  memory = 256
  provision "chef_solo" {
    cookbooks = ["cookbooks"]
    recipes   = ["%s"]
  }
}
`, e.stateDir, e.sim.Bin, e.ports[0], e.ports[1], f.version, e.dir, f.version, f.vms, strings.Join(f.recipes, `", "`))
}

// desired loads the fleet and computes its desired state.
func (e *env) desired(f fleetSpec) reconcile.Desired {
	e.t.Helper()
	path := filepath.Join(e.dir, "fleet.hcl")
	if err := os.WriteFile(path, []byte(e.fleetHCL(f)), 0o644); err != nil {
		e.t.Fatal(err)
	}
	fleet, diags := spec.Load(path)
	if diags.HasErrors() {
		e.t.Fatalf("fleet.hcl: %v", diags)
	}
	fps, err := reconcile.Fingerprints(fleet)
	if err != nil {
		e.t.Fatal(err)
	}
	return reconcile.NewDesired(fleet, fps)
}

func (e *env) observe(ctx context.Context) (reconcile.Inventory, error) {
	return reconcile.Observe(ctx, e.prov, e.cache, true, time.Now())
}

// converge runs apply passes until converged and returns the result.
func (e *env) converge(d reconcile.Desired) (reconcile.Result, error) {
	ap := &reconcile.Applier{Provider: e.prov, Boxes: e.cache, MaxParallel: 4, RetryBase: 20 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	return ap.Converge(ctx, d, e.observe, nil, 0)
}

// mustConverge converges and checks the host is exactly right: no plan left, the expected VMs,
// no leaked machine folder.
func (e *env) mustConverge(d reconcile.Desired) reconcile.Result {
	e.t.Helper()
	res, err := e.converge(d)
	if err != nil {
		e.t.Fatalf("converge: %v (failures %v)", err, res.Failures)
	}
	e.checkConverged(d)
	return res
}

func (e *env) checkConverged(d reconcile.Desired) {
	e.t.Helper()
	inv, err := e.observe(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	if p := reconcile.Diff(d, inv); !p.Empty() {
		e.t.Fatalf("plan after converge is not empty: %v", p.Actions)
	}
	var want []string
	for _, p := range d.Pools {
		if p.VMs == 0 {
			continue
		}
		want = append(want, reconcile.BoxVMName(p.Box, p.Image.BoxVersion), reconcile.GoldenName(p.Name, p.Hash))
		for i := 1; i <= p.VMs; i++ {
			want = append(want, reconcile.WorkerName(p.Name, i))
		}
	}
	var got []string
	for _, v := range inv.VMs {
		got = append(got, v.Name)
		if v.Role == reconcile.RoleWorker && (v.Power != reconcile.PowerRunning || v.HostKey == "" || v.SSHPort == 0) {
			e.t.Errorf("worker %s: power %s, host key %q, ssh port %d", v.Name, v.Power, v.HostKey, v.SSHPort)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		e.t.Errorf("managed VMs = %v, want %v", got, want)
	}
	e.checkNoLeaks()
}

// checkNoLeaks checks every machine folder in the simulator belongs to a registered VM, so no
// disk or snapshot was left behind by a destroy.
func (e *env) checkNoLeaks() {
	e.t.Helper()
	out, _, code := e.sim.Run(e.t, "list", "vms")
	if code != 0 {
		e.t.Fatalf("list vms exit %d", code)
	}
	refs, err := vbox.ParseList([]byte(out))
	if err != nil {
		e.t.Fatal(err)
	}
	registered := map[string]bool{}
	for _, r := range refs {
		registered[r.Name] = true
	}
	entries, _ := os.ReadDir(filepath.Join(e.sim.Home, "machines"))
	for _, ent := range entries {
		if !registered[ent.Name()] {
			e.t.Errorf("machine folder %s has no registered VM (leaked disk)", ent.Name())
		}
	}
}
