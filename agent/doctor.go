// The doctor subcommand: checks a host before it joins the fleet and says exactly what to fix.
// Each check is a function returning one or more findings; the findings are printed in order
// and the exit code is 1 when any is a failure.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/spec"
	"github.com/fleet-agent/fleet/vbox"
)

func init() { commands = append(commands, newDoctorCmd) }

// Severity of a finding.
const (
	sevOK   = "ok"
	sevWarn = "WARN"
	sevFail = "FAIL"
)

// finding is one line of the doctor's report.
type finding struct {
	sev, what, detail string
	// fix says what to do; empty for ok findings.
	fix string
}

// Headroom the host keeps besides its VMs.
const (
	memHeadroomMiB  = 1024 // the host OS, VBoxSVC, the agent
	diskPerImageMiB = 4096 // a box import plus a golden image, per pool
	diskHeadroomMiB = 2048 // logs, the box cache's temporary files
	doctorTimeout   = 20 * time.Second
)

func newDoctorCmd(a *app) *cobra.Command {
	var record string
	var deep *deepOpts
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check this host before it joins the fleet, and say what to fix",
		Long: `Doctor checks everything this host needs to run the fleet.hcl given with -c: the file itself
and its cookbooks, VBoxManage (found, its version, the kernel module), state_dir writable,
memory and disk for the VMs the file asks for, the Redis queue reachable with the credentials
given, and the SSH keys. Each problem is printed with the exact fix.

With --record DIR every VBoxManage call doctor makes is written to a redacted transcript in DIR
(docs/CONTRIBUTING.md says how to send one).

Exit codes: 0 ready (warnings may be printed), 1 something must be fixed first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(context.Background(), doctorTimeout)
			defer cancel()
			fails := a.doctorRecording(ctx, a.stdout, record)
			if deep.deep {
				fails += a.doctorDeepFromConfig(a.stdout, deep, record)
			}
			if fails > 0 {
				fmt.Fprintf(a.stdout, "\n%d problem(s) to fix before this host joins the fleet.\n", fails)
				return exitCodeError{exitError}
			}
			fmt.Fprintln(a.stdout, "\nThis host is ready to join the fleet: start the agent with 'agent run' (or systemctl start fleet-agent).")
			return nil
		},
	}
	cmd.Flags().StringVar(&record, "record", "", "write a redacted transcript of every VBoxManage call to `DIR`")
	deep = addDeepFlags(cmd) // doctor_deep.go
	return cmd
}

// doctorRecording runs every check (recording VBoxManage calls to record when it is set), prints the findings and returns how many failed.
func (a *app) doctorRecording(ctx context.Context, w io.Writer, record string) int {
	var all []finding
	path, err := a.configFile()
	if err != nil {
		all = append(all, finding{sevFail, "fleet.hcl", err.Error(), "write /etc/fleet/fleet.hcl (see fleet.hcl.example) or pass -c FILE"})
		return printFindings(w, all)
	}
	f, cfg := checkConfig(path)
	all = append(all, cfg...)
	if f != nil {
		if usesProvider(f, spec.ProviderVirtualBox) {
			all = append(all, checkVBox(ctx, f, record)...)
		}
		if usesProvider(f, spec.ProviderQEMU) {
			all = append(all, checkQEMU(ctx, f)...)
		}
		all = append(all, checkStateDir(f.Host.StateDir)...)
		all = append(all, checkResources(f)...)
		all = append(all, checkRedis(ctx, f)...)
		all = append(all, checkKeys(f)...)
		all = append(all, checkPasswordPools(f)...)
	}
	return printFindings(w, all)
}

func printFindings(w io.Writer, all []finding) int {
	fails := 0
	for _, f := range all {
		if f.sev == sevFail {
			fails++
		}
		fmt.Fprintf(w, "%-4s  %s: %s\n", f.sev, f.what, f.detail)
		if f.fix != "" {
			fmt.Fprintf(w, "      fix: %s\n", f.fix)
		}
	}
	return fails
}

// checkConfig loads fleet.hcl and resolves every pool's recipes.
func checkConfig(path string) (*spec.Fleet, []finding) {
	l := spec.NewLoader()
	f, diags := l.Load(path)
	if f != nil {
		diags = append(diags, resolveRecipes(f)...)
	}
	var out []finding
	for _, d := range diags {
		sev := sevWarn
		if d.Severity == hcl.DiagError {
			sev = sevFail
		}
		where := path
		if d.Subject != nil {
			where = fmt.Sprintf("%s:%d", d.Subject.Filename, d.Subject.Start.Line)
		}
		out = append(out, finding{sev, "fleet.hcl", fmt.Sprintf("%s: %s: %s", where, d.Summary, d.Detail), "edit the file; 'agent validate' shows the source line"})
	}
	if diags.HasErrors() {
		return nil, out
	}
	vms := 0
	for _, p := range f.Pools {
		vms += p.VMs
	}
	return f, append([]finding{{sev: sevOK, what: "fleet.hcl", detail: fmt.Sprintf("%s is valid and its recipes resolve (%d pools, %d VMs)", path, len(f.Pools), vms)}}, out...)
}

// checkVBox finds VBoxManage and reads its version and warnings.
func checkVBox(ctx context.Context, f *spec.Fleet, record string) []finding {
	manage := f.VirtualBox.Manage
	bin, err := exec.LookPath(manage)
	if err != nil {
		return []finding{{sevFail, "VBoxManage", fmt.Sprintf("%q not found: %v", manage, err),
			"install VirtualBox (apt-get install virtualbox), or set virtualbox { manage = \"/path/to/VBoxManage\" }"}}
	}
	d := vbox.New(vbox.Config{Manage: bin, CallTimeout: 10 * time.Second, Record: record}, nil)
	defer d.Close()
	v, err := d.Version(ctx)
	if err != nil {
		return []finding{{sevFail, "VBoxManage", fmt.Sprintf("%s --version failed: %v", bin, err), "reinstall VirtualBox; run VBoxManage --version by hand to see why"}}
	}
	out := []finding{{sev: sevOK, what: "VBoxManage", detail: fmt.Sprintf("%s, VirtualBox %s (%s)", bin, v, v.Raw)}}
	if !v.AtLeast(4, 0) {
		out = append(out, finding{sevFail, "VBoxManage", fmt.Sprintf("VirtualBox %s is too old", v), "upgrade VirtualBox to 5.0 or newer"})
	}
	for _, w := range v.Warnings {
		out = append(out, finding{sevFail, "VirtualBox kernel module", strings.ReplaceAll(w, "\n", " "),
			"load it: run /sbin/vboxconfig (or apt-get install --reinstall virtualbox-dkms linux-headers-$(uname -r)), then modprobe vboxdrv"})
	}
	return append(out, hostLoopbackFinding(v))
}

// hostLoopbackFinding says whether builds on VirtualBox v can reach this host's loopback
// through NAT (vboxprovider/hostloopback.go): closed from 7.0 on, open before with no way to
// close it.
func hostLoopbackFinding(v vbox.Version) finding {
	if v.AtLeast(7, 0) {
		return finding{sev: sevOK, what: "host loopback", detail: fmt.Sprintf("closed to builds: on VirtualBox %s the agent sets "+
			"--nat-localhostreachableN off on every NAT adapter of its golden images and workers, so 10.0.2.2 does not reach "+
			"services on this host's 127.0.0.1", v)}
	}
	return finding{sevWarn, "host loopback", fmt.Sprintf("open to builds: VirtualBox %s maps the NAT gateway 10.0.2.2 to this host's "+
		"127.0.0.1 and has no setting to stop it, so any build can reach every service listening on this host's loopback "+
		"(a local Redis or the job queue, the agent's metrics, a database, a cloud metadata proxy)", v),
		"upgrade to VirtualBox 7.0 or newer (the agent then closes it on every VM it makes); until then bind host services " +
			"to another address or firewall them from the VirtualBox VM processes, or move these pools to QEMU (provider = \"qemu\")"}
}

// checkStateDir writes a file into state_dir, or into the folder that will hold it when it
// does not exist yet (doctor changes nothing on the host).
func checkStateDir(dir string) []finding {
	fail := func(err error) []finding {
		return []finding{{sevFail, "state_dir", fmt.Sprintf("%s is not writable: %v", dir, err),
			fmt.Sprintf("mkdir -p %s && chown <agent user> %s, or set host { state_dir = ... }", dir, dir)}}
	}
	probeDir, detail := dir, dir+" is writable"
	for {
		st, err := os.Stat(probeDir)
		if err == nil && st.IsDir() {
			break
		}
		if err == nil || !errors.Is(err, os.ErrNotExist) || probeDir == filepath.Dir(probeDir) {
			if err == nil {
				err = errors.New("not a folder")
			}
			return fail(err)
		}
		probeDir = filepath.Dir(probeDir)
		detail = fmt.Sprintf("%s does not exist yet; the agent creates it in %s, which is writable", dir, probeDir)
	}
	probe, err := os.CreateTemp(probeDir, ".doctor-")
	if err != nil {
		return fail(err)
	}
	probe.Close()
	os.Remove(probe.Name())
	out := []finding{{sev: sevOK, what: "state_dir", detail: detail}}
	if c, err := control.Call(context.Background(), filepath.Join(dir, control.SocketName), control.Request{Op: control.OpStatus}, nil); err == nil {
		out = append(out, finding{sev: sevOK, what: "agent", detail: fmt.Sprintf("an agent already runs here (pid %d)", c.Status.PID)})
	}
	return out
}

// checkResources compares memory and disk with what the pools need.
func checkResources(f *spec.Fleet) []finding {
	var out []finding
	needMem, pools := 0, 0
	for _, p := range f.Pools {
		needMem += p.VMs * p.Memory
		if p.VMs > 0 {
			pools++
			needMem += p.Memory // the golden image while it is provisioned
		}
	}
	totalMem, err := memTotalMiB()
	if err != nil {
		out = append(out, finding{sevWarn, "memory", "cannot read /proc/meminfo: " + err.Error(), "check by hand: free -m"})
	} else if want := needMem + memHeadroomMiB; totalMem < want {
		out = append(out, finding{sevFail, "memory", fmt.Sprintf("%d MiB installed, the pools need %d MiB (VMs and golden images %d MiB + %d MiB for the host)",
			totalMem, want, needMem, memHeadroomMiB), "lower vms or memory in fleet.hcl, or add RAM"})
	} else {
		out = append(out, finding{sev: sevOK, what: "memory", detail: fmt.Sprintf("%d MiB installed, the pools need %d MiB with headroom", totalMem, want)})
	}
	var st unix.Statfs_t
	dir := f.Host.StateDir
	for _, err := os.Stat(dir); err != nil && dir != filepath.Dir(dir); _, err = os.Stat(dir) {
		dir = filepath.Dir(dir) // the filesystem that will hold state_dir
	}
	if err := unix.Statfs(dir, &st); err != nil {
		return append(out, finding{sevWarn, "disk", fmt.Sprintf("cannot stat %s: %v", dir, err), "check by hand: df -h " + dir})
	}
	free := int(st.Bavail * uint64(st.Bsize) >> 20)
	// Each worker's live ready snapshot saves its memory to disk; each pool adds a box and a golden.
	want := needMem + pools*diskPerImageMiB + diskHeadroomMiB
	if free < want {
		out = append(out, finding{sevFail, "disk", fmt.Sprintf("%d MiB free on %s, the pools need about %d MiB (saved states %d MiB + %d MiB per pool image + %d MiB)",
			free, dir, want, needMem, diskPerImageMiB, diskHeadroomMiB), "free space there, or move state_dir and VirtualBox's machine folder to a bigger disk"})
	} else {
		out = append(out, finding{sev: sevOK, what: "disk", detail: fmt.Sprintf("%d MiB free on %s, the pools need about %d MiB", free, dir, want)})
	}
	return out
}

// memTotalMiB reads MemTotal from /proc/meminfo.
func memTotalMiB() (int, error) {
	fh, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				return 0, fmt.Errorf("MemTotal %q: %w", rest, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, errors.New("no MemTotal line")
}

// checkRedis connects with the URL and credentials given and pings.
func checkRedis(ctx context.Context, f *spec.Fleet) []finding {
	url := redactURL(f.Queue.Redis)
	redis.SetLogger(quietRedis{}) // the finding says it; go-redis's own retry lines would repeat it
	rdb, err := queue.DialWith(f.Queue.Redis, queueCredentials(f.Queue.Credentials))
	if err != nil {
		return []finding{{sevFail, "redis", fmt.Sprintf("%s: %v", url, err), "fix queue { redis = ... } in fleet.hcl"}}
	}
	defer rdb.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		fix := "start Redis there, or fix the host and port; check firewalls between this host and Redis"
		msg := err.Error()
		if strings.Contains(msg, "NOAUTH") || strings.Contains(msg, "WRONGPASS") || strings.Contains(msg, "invalid password") {
			fix = "set queue { username, password_file or password_env } in fleet.hcl (or $" + queue.PasswordEnv + ")"
		}
		return []finding{{sevFail, "redis", fmt.Sprintf("%s: %v", url, err), fix}}
	}
	return append([]finding{{sev: sevOK, what: "redis", detail: url + " answers"}}, checkRedisAuth(ctx, f)...)
}

// quietRedis drops go-redis's internal log lines.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// checkKeys checks each box's SSH key and the agent's own key.
func checkKeys(f *spec.Fleet) []finding {
	var out []finding
	for _, b := range f.Boxes {
		k := b.SSH.PrivateKey
		if k == "" {
			out = append(out, finding{sev: sevOK, what: "ssh key", detail: fmt.Sprintf("box %q: Vagrant's insecure key (replaced by the agent's own key in every golden image)", b.Name)})
			continue
		}
		st, err := os.Stat(k)
		if err != nil {
			out = append(out, finding{sevFail, "ssh key", fmt.Sprintf("box %q: %v", b.Name, err), "put the box user's private key there, or fix box { ssh { private_key } }"})
			continue
		}
		if st.Mode().Perm()&0o077 != 0 {
			out = append(out, finding{sevFail, "ssh key", fmt.Sprintf("box %q: %s is readable by others (mode %o)", b.Name, k, st.Mode().Perm()), "chmod 600 " + k})
			continue
		}
		pem, err := os.ReadFile(k)
		if err == nil {
			_, err = ssh.ParsePrivateKey(pem)
		}
		if err != nil {
			out = append(out, finding{sevFail, "ssh key", fmt.Sprintf("box %q: %s: %v", b.Name, k, err), "use an unencrypted OpenSSH or PEM private key"})
			continue
		}
		out = append(out, finding{sev: sevOK, what: "ssh key", detail: fmt.Sprintf("box %q: %s", b.Name, k)})
	}
	agentKey := filepath.Join(f.Host.StateDir, guest.AgentKeyFile)
	if _, err := os.Stat(agentKey); err != nil {
		out = append(out, finding{sev: sevOK, what: "agent key", detail: agentKey + " is created on first start"})
	} else if _, err := guest.LoadOrCreateKey(f.Host.StateDir); err != nil {
		out = append(out, finding{sevFail, "agent key", err.Error(), "chmod 600 " + agentKey + ", or remove it to have a new one made"})
	} else {
		out = append(out, finding{sev: sevOK, what: "agent key", detail: agentKey})
	}
	return out
}
