// The qemu processes: the command line, launching qemu as a child of the provider's own
// supervisor (never -daemonize: migration to `exec:` fails under it, QEMU-SPIKE.md §5) with
// stdio in the VM folder, recognising a process by pid and start time, and stopping it.

package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// launch says how to start a VM's process beyond its facts.
type launch struct {
	incoming string // a migration state file to resume from
	loadvm   string // an internal snapshot to restore at start
	paused   bool   // -S: wait for `cont`
}

// args is the qemu command line for the VM in dir.
func (p *Provider) args(dir string, f *facts, l launch) []string {
	a := []string{
		"-name", f.Name, "-machine", "pc", "-accel", f.Accel,
		"-m", strconv.Itoa(f.Memory), "-smp", strconv.Itoa(max(f.CPUs, 1)),
		"-display", "none", "-monitor", "none",
		"-serial", "file:" + filepath.Join(dir, consoleFile),
	}
	a = append(a, netdevArgs(f, 3)...) // fd 3: the first of cmd.ExtraFiles
	a = append(a,
		"-device", "virtio-net-pci,netdev=n0", "-device", "virtio-rng-pci",
		"-drive", "file="+filepath.Join(dir, diskFile)+",if=virtio,format=qcow2,cache=unsafe",
		"-qmp", "unix:"+f.QMP+",server=on,wait=off",
	)
	if f.Kernel != "" {
		a = append(a, "-kernel", f.Kernel)
		if f.Initrd != "" {
			a = append(a, "-initrd", f.Initrd)
		}
		if f.Cmdline != "" {
			a = append(a, "-append", f.Cmdline)
		}
	}
	if l.incoming != "" {
		a = append(a, "-incoming", "exec:cat "+shellQuote(l.incoming))
	}
	if l.loadvm != "" {
		a = append(a, "-loadvm", l.loadvm)
	}
	if l.paused {
		a = append(a, "-S")
	}
	return a
}

// start launches the VM's qemu as a child process (after its passt, network.go), records its
// pid and start time in the facts, and waits until its QMP socket answers. A recorded process
// of the VM that still runs (a qemu whose passt died) is killed first: one disk, one qemu.
func (p *Provider) start(ctx context.Context, name string, l launch) (*facts, error) {
	dir := p.dir(name)
	f, err := readFacts(dir)
	if err != nil {
		return nil, err
	}
	p.kill(f)
	f.QMP = qmpPath(dir)
	os.Remove(f.QMP)
	if f.Accel == "" {
		f.Accel = p.accel
	}
	if f, err = p.update(name, func(g *facts) { g.PID, g.Start, g.PasstPID, g.PasstStart, g.QMP, g.Accel = 0, 0, 0, 0, f.QMP, f.Accel }); err != nil {
		return nil, err
	}
	netFile, err := p.startNetwork(name, f)
	if err != nil {
		return nil, err
	}
	if netFile != nil {
		defer netFile.Close() // qemu holds its own copy once started
	}
	out, err := os.OpenFile(filepath.Join(dir, logFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.kill(f)
		return nil, err
	}
	cmd := exec.Command(p.cfg.Binary, p.args(dir, f, l)...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out // never the agent's own stdio
	if netFile != nil {
		cmd.ExtraFiles = []*os.File{netFile}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pid, err := p.spawn(cmd, out)
	if err != nil {
		p.kill(f)
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	startTime, err := procStart(pid)
	if err != nil {
		syscall.Kill(pid, syscall.SIGKILL) // its start time is unknown; the reaper waits for it
		p.kill(f)
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	f, err = p.update(name, func(g *facts) { g.PID, g.Start = pid, startTime })
	if err != nil {
		killProc(pid, startTime)
		return nil, err
	}
	if err := p.waitQMP(ctx, f); err != nil {
		p.kill(f)
		return nil, err
	}
	return f, nil
}

// spawn starts cmd as a child the provider reaps (and Close kills); out is closed when it
// exits. It returns the child's pid.
func (p *Provider) spawn(cmd *exec.Cmd, out *os.File) (int, error) {
	p.procMu.Lock()
	defer p.procMu.Unlock()
	if p.closed {
		out.Close()
		return 0, errors.New("provider closed")
	}
	if err := cmd.Start(); err != nil {
		out.Close()
		return 0, err
	}
	pid := cmd.Process.Pid
	p.children[pid] = cmd.Process
	p.procs.Add(1)
	go func() {
		defer p.procs.Done()
		cmd.Wait()
		out.Close()
		p.procMu.Lock()
		delete(p.children, pid)
		p.procMu.Unlock()
	}()
	return pid, nil
}

// waitQMP waits until the process's QMP socket accepts a connection, or it dies.
func (p *Provider) waitQMP(ctx context.Context, f *facts) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.BootTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := p.qmp(ctx, f)
		if err == nil {
			c.Close()
			return nil
		}
		if !alive(f.PID, f.Start) {
			return fmt.Errorf("qemu exited at start: %s", p.logTail(f.Name))
		}
		if f.PasstPID != 0 && !alive(f.PasstPID, f.PasstStart) {
			return fmt.Errorf("passt exited at start: %s", p.passtLogTail(f.Name))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for qmp: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// waitRunning waits until the VM's vCPUs run: a VM resuming from a migration stream is in
// state inmigrate first, and an SSH connection dialled then is forwarded into a guest that
// does not run yet and stalls for a whole dial timeout.
func (p *Provider) waitRunning(ctx context.Context, f *facts) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.BootTimeout)
	defer cancel()
	c, err := p.qmp(ctx, f)
	if err != nil {
		return err
	}
	defer c.Close()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := c.Status(ctx)
		if err != nil {
			return fmt.Errorf("wait for running: %w", err)
		}
		if st == "running" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for running (status %s): %w", st, ctx.Err())
		case <-tick.C: // QMP's RESUME event would do, but polling a local socket is simpler
		}
	}
}

// logTail returns the end of the VM's qemu.log, for errors.
func (p *Provider) logTail(name string) string {
	b, _ := os.ReadFile(filepath.Join(p.dir(name), logFile))
	return string(tail(bytes.TrimSpace(b), 400))
}

// tail is the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// kill ends the VM's recorded processes, qemu then passt (each only if pid and start time
// still match), and waits for them to be gone.
func (p *Provider) kill(f *facts) {
	if f != nil {
		killProc(f.PID, f.Start)
		killProc(f.PasstPID, f.PasstStart)
	}
}

// killProc kills process pid if it is the one that started at start, and waits until it is
// gone (or a zombie).
func killProc(pid int, start uint64) {
	if pid <= 0 || !alive(pid, start) {
		return
	}
	syscall.Kill(pid, syscall.SIGKILL)
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid, start) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling the kernel for the exit; no event to wait on for a non-child
	}
}

// killStrays kills every process whose command line opens the disk in dir: a qemu started by
// an action that was killed between launching it and recording its pid, which no facts
// name. Destroy calls it, so kill-anywhere leaves no process behind.
func killStrays(dir string) {
	want := []byte("file=" + filepath.Join(dir, diskFile) + ",")
	sshPort := 0
	if f, err := readFacts(dir); err == nil {
		sshPort = f.SSHPort
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		if sshPort != 0 && isPasstStray(b, sshPort) {
			if start, err := procStart(pid); err == nil {
				killProc(pid, start)
			}
			continue
		}
		if !bytes.Contains(b, want) {
			continue
		}
		for _, arg := range bytes.Split(b, []byte{0}) {
			if bytes.HasPrefix(arg, want) {
				if start, err := procStart(pid); err == nil {
					killProc(pid, start)
				}
				break
			}
		}
	}
}

// Close kills every qemu process this provider started and waits for them; tests and
// benchmarks call it. The agent does not: its qemu processes run in their own process group
// with stdio in the VM folder, so they outlive `agent apply` and an `agent run` restart, and
// the next agent adopts them through the pid and start time in vm.json (as VirtualBox's VMs
// outlive the agent under VBoxSVC).
func (p *Provider) Close() error {
	p.procMu.Lock()
	p.closed = true
	for _, proc := range p.children {
		proc.Kill()
	}
	p.procMu.Unlock()
	p.procs.Wait()
	return nil
}

// procStart returns the start time (clock ticks after boot) of process pid.
func procStart(pid int) (uint64, error) {
	st, _, err := procStat(pid)
	return st, err
}

// procStat reads /proc/PID/stat: the start time and the state letter.
func procStat(pid int) (uint64, byte, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	return parseStat(b)
}

// parseStat reads the state (field 3) and starttime (field 22) of a /proc/PID/stat line; the
// command name in parentheses may itself hold spaces and parentheses.
func parseStat(b []byte) (uint64, byte, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errors.New("stat: no command name")
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 20 || len(fields[0]) != 1 {
		return 0, 0, errors.New("stat: too few fields")
	}
	st, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("stat: starttime: %w", err)
	}
	return st, fields[0][0], nil
}

// alive reports whether process pid runs and started at start (not a reused pid, not a
// zombie).
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, state, err := procStat(pid)
	return err == nil && st == start && state != 'Z' && state != 'X'
}

// Accel returns the accelerator for setting: "kvm" or "tcg" as given, and for "auto" (or
// empty) kvm when /dev/kvm opens read-write and the CPU has hardware virtualisation, else tcg.
func Accel(setting string) string {
	if setting != "" && setting != "auto" {
		return setting
	}
	if kvmUsable() {
		return "kvm"
	}
	return "tcg"
}

func kvmUsable() bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	// A /dev/kvm without vmx/svm in the CPU flags (some sandboxes) accepts the VM and never
	// runs it.
	cpu, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return false
	}
	return hasVirtFlag(cpu)
}

// hasVirtFlag reports whether /proc/cpuinfo lists vmx or svm among the flags.
func hasVirtFlag(cpuinfo []byte) bool {
	for _, line := range strings.Split(string(cpuinfo), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != "flags" {
			continue
		}
		for _, fl := range strings.Fields(v) {
			if fl == "vmx" || fl == "svm" {
				return true
			}
		}
	}
	return false
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
