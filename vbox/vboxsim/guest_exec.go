// This file runs one SSH exec request inside the guest: /bin/sh -c with
// HOME, TMPDIR, PATH and the working directory inside the disk, in its own
// process group (so the "signal" request reaches the whole command), and,
// where the machine allows it, in a mount namespace with the disk's tmp
// bound on /tmp.

package vboxsim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/crypto/ssh"
)

// signals maps SSH signal names (RFC 4254 section 6.10) to host signals.
var signals = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "FPE": syscall.SIGFPE, "HUP": syscall.SIGHUP,
	"ILL": syscall.SIGILL, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE,
	"QUIT": syscall.SIGQUIT, "SEGV": syscall.SIGSEGV, "TERM": syscall.SIGTERM, "USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2,
}

func signalName(s syscall.Signal) string {
	for k, v := range signals {
		if v == s {
			return k
		}
	}
	return "KILL"
}

// session serves one session channel: env, exec and signal requests.
func (g *guest) session(user string, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var env []string
	started := make(chan int, 1)
	done := make(chan struct{})
	pgid := 0
	for {
		select {
		case <-done:
			return
		case p := <-started:
			pgid = p
			continue
		case r, ok := <-reqs:
			if !ok {
				if pgid != 0 {
					syscall.Kill(-pgid, syscall.SIGHUP)
				}
				return
			}
			switch r.Type {
			case "env":
				var kv struct{ Name, Value string }
				if ssh.Unmarshal(r.Payload, &kv) == nil {
					env = append(env, kv.Name+"="+kv.Value)
				}
				reply(r, true)
			case "exec":
				var cmd struct{ Command string }
				if ssh.Unmarshal(r.Payload, &cmd) != nil || pgid != 0 {
					reply(r, false)
					continue
				}
				reply(r, true)
				go func() {
					defer close(done)
					g.run(user, cmd.Command, env, ch, started)
				}()
			case "signal":
				var sig struct{ Name string }
				if ssh.Unmarshal(r.Payload, &sig) == nil && pgid != 0 {
					if s, ok := signals[sig.Name]; ok {
						syscall.Kill(-pgid, s)
					}
				}
				reply(r, true)
			default:
				reply(r, false)
			}
		}
	}
}

func reply(r *ssh.Request, ok bool) {
	if r.WantReply {
		r.Reply(ok, nil)
	}
}

// run executes command and reports exit-status or exit-signal on ch.
func (g *guest) run(user, command string, extra []string, ch ssh.Channel, started chan<- int) {
	home := filepath.Join(g.spec.Disk, "home", user)
	tmp := filepath.Join(g.spec.Disk, "tmp")
	env := []string{
		"HOME=" + home, "USER=" + user, "LOGNAME=" + user, "SHELL=/bin/sh", "TMPDIR=" + tmp, "LANG=C.UTF-8",
		"PATH=" + filepath.Join(g.spec.Disk, "bin") + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		guestMarker + "=" + g.spec.VM, guestRootEnv + "=" + g.spec.Disk,
	}
	env = append(env, extra...)
	start := func(ns bool) (*exec.Cmd, io.WriteCloser, error) {
		var cmd *exec.Cmd
		if ns {
			exe, _ := os.Executable()
			cmd = exec.Command(exe, "__exec", tmp, "/bin/sh", "-c", command)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Unshareflags: syscall.CLONE_NEWNS}
		} else {
			cmd = exec.Command("/bin/sh", "-c", command)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		}
		cmd.Dir, cmd.Env = home, env
		cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, nil, err
		}
		return cmd, in, cmd.Start()
	}
	cmd, stdin, err := start(g.useNS)
	if err != nil && g.useNS {
		g.useNS = false
		cmd, stdin, err = start(false)
	}
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "sh: %v\n", err)
		sendStatus(ch, 127)
		return
	}
	pg := cmd.Process.Pid
	g.mu.Lock()
	g.pgids[pg] = true
	g.mu.Unlock()
	started <- pg
	go func() {
		io.Copy(stdin, ch)
		stdin.Close()
	}()
	err = cmd.Wait()
	g.mu.Lock()
	delete(g.pgids, pg)
	g.mu.Unlock()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
				Signal     string
				CoreDumped bool
				Error      string
				Lang       string
			}{signalName(ws.Signal()), false, "", ""}))
			return
		}
		sendStatus(ch, uint32(ee.ExitCode()))
		return
	}
	if err != nil {
		sendStatus(ch, 255)
		return
	}
	sendStatus(ch, 0)
}

func sendStatus(ch ssh.Channel, code uint32) {
	ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{code}))
}

// execMain is the helper that runs inside a fresh mount namespace: it binds
// the disk's tmp on /tmp, then becomes the command.
func execMain(args []string) error {
	if len(args) < 2 {
		return errors.New("__exec: want TMPDIR and command")
	}
	if err := syscall.Mount(args[0], "/tmp", "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s on /tmp: %w", args[0], err)
	}
	path := args[1]
	if !strings.Contains(path, "/") {
		p, err := exec.LookPath(path)
		if err != nil {
			return fmt.Errorf("__exec: %w", err)
		}
		path = p
	}
	return syscall.Exec(path, args[1:], os.Environ())
}
