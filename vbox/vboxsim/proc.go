// This file manages guest processes on the host: spawning the detached
// guest of a started VM, telling whether it is alive, and killing or
// signalling it together with everything it started (found by the
// VBOXSIM_GUEST marker every guest process carries in its environment).

package vboxsim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// guestMarker is the environment variable every guest process and its
// descendants carry; its value is the VM's UUID.
const guestMarker = "VBOXSIM_GUEST"

// pidAlive reports whether pid exists and is not a zombie.
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	st := b[i+2]
	return st != 'Z' && st != 'X'
}

// guestAlive reports whether pid is alive and is the guest of VM uuid (so a
// reused PID does not count).
func guestAlive(pid int, uuid string) bool {
	if !pidAlive(pid) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	return bytes.Contains(b, []byte("__guest\x00"+uuid))
}

// markedPIDs lists the live processes whose environment marks them as part
// of VM uuid's guest.
func markedPIDs(uuid string) []int {
	ents, _ := os.ReadDir("/proc")
	want := []byte(guestMarker + "=" + uuid + "\x00")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(append([]byte{0}, b...), append([]byte{0}, want...)) {
			continue
		}
		if pidAlive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

func signalPID(pid int, sig syscall.Signal) error {
	if pid <= 0 {
		return nil
	}
	if err := syscall.Kill(pid, sig); err != nil && err != syscall.ESRCH {
		return fmt.Errorf("signal guest %d: %w", pid, err)
	}
	return nil
}

// signalGuest sends sig to the guest and every process it started.
func signalGuest(pid int, uuid string, sig syscall.Signal) {
	if guestAlive(pid, uuid) {
		syscall.Kill(pid, sig)
	}
	for _, p := range markedPIDs(uuid) {
		syscall.Kill(p, sig)
	}
}

// killGuest kills the guest and everything it started, and returns once
// they are gone (or after a bounded wait).
func killGuest(pid int, uuid string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids := markedPIDs(uuid)
		if guestAlive(pid, uuid) {
			pids = append(pids, pid)
		}
		if len(pids) == 0 || time.Now().After(deadline) {
			return
		}
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGKILL)
			syscall.Kill(p, syscall.SIGCONT)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// spawnGuest starts the detached guest of m. Its stdio goes to the VM's log
// file, never to the caller's, and it runs in its own session so the caller
// can exit. It returns once the guest reports it is up.
func spawnGuest(m Machine, g guestSpec) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("find simulator binary: %w", err)
	}
	spec, _ := json.Marshal(g)
	logDir := filepath.Join(m.Dir, "Logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return 0, fmt.Errorf("create log folder: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(logDir, "VBox.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, fmt.Errorf("open guest log: %w", err)
	}
	defer logf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("guest pipe: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(exe, "__guest", m.UUID, string(spec))
	cmd.Env = append(os.Environ(), guestMarker+"="+m.UUID)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return 0, fmt.Errorf("start guest: %w", err)
	}
	w.Close()
	r.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, _ := bufio.NewReader(r).ReadString('\n')
	pid := cmd.Process.Pid
	if strings.TrimSpace(line) != "ready" {
		killGuest(pid, m.UUID)
		cmd.Wait()
		return 0, fmt.Errorf("guest did not come up (see %s)", logf.Name())
	}
	cmd.Process.Release()
	return pid, nil
}

// KillGuests kills the guest processes (and everything they started) of
// every VM in the simulator state at home, without changing the state. Test
// helpers call it on cleanup.
func KillGuests(home string) error {
	b, err := os.ReadFile(filepath.Join(home, "state.json"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("read state: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("decode state: %w", err)
	}
	for _, m := range st.Machines {
		killGuest(m.GuestPID, m.UUID)
	}
	return nil
}
