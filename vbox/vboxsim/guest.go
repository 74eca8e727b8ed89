// This file is the guest of a running VM: a detached process serving SSH
// (exec sessions only) on the VM's forwarded host port, running commands
// with /bin/sh inside the VM's disk. Its hot loop is the SSH accept loop.

package vboxsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// guestSpec is what startvm tells the guest process.
type guestSpec struct {
	VM         string        `json:"vm"`
	Disk       string        `json:"disk"`
	Port       int           `json:"port"`
	Boot       time.Duration `json:"boot"`
	Resume     bool          `json:"resume"`
	NoSSH      bool          `json:"no_ssh"`
	AbortAfter time.Duration `json:"abort_after"`
	ACPI       time.Duration `json:"acpi"`
	Linger     time.Duration `json:"linger"`
}

// guest is the running guest. Its commands map is guarded by mu.
type guest struct {
	spec  guestSpec
	useNS bool
	cfg   *ssh.ServerConfig
	mu    sync.Mutex
	pgids map[int]bool
	wg    sync.WaitGroup
}

func (c *cli) guestMain(args []string) error {
	if len(args) != 2 {
		return errors.New("__guest: want VM UUID and spec")
	}
	var spec guestSpec
	if err := json.Unmarshal([]byte(args[1]), &spec); err != nil {
		return fmt.Errorf("__guest spec: %w", err)
	}
	log.SetPrefix("guest " + spec.VM + ": ")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	g := &guest{spec: spec, pgids: map[int]bool{}, useNS: os.Geteuid() == 0 && !underTmp(spec.Disk)}
	if err := ensureHostKey(spec.Disk); err != nil {
		return err
	}
	if err := ensureStandIns(spec.Disk); err != nil {
		return err
	}
	if !spec.Resume {
		os.WriteFile(filepath.Join(spec.Disk, "etc", "boot_id"), []byte(newUUID()+"\n"), 0o644)
	}
	if err := g.configure(); err != nil {
		return err
	}
	ready := os.NewFile(3, "ready")
	notify := func() {
		if ready != nil {
			io.WriteString(ready, "ready\n")
			ready.Close()
			ready = nil
		}
	}
	var ln net.Listener
	listen := func() {
		if spec.NoSSH || spec.Port == 0 {
			log.Printf("no ssh (no_ssh=%v port=%d)", spec.NoSSH, spec.Port)
			return
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", spec.Port))
		if err != nil {
			// VirtualBox keeps the VM running when a NAT redirect fails.
			log.Printf("NAT: failed to redirect TCP 127.0.0.1:%d -> :22: %v", spec.Port, err)
			return
		}
		ln = l
		g.wg.Add(1)
		go func() { defer g.wg.Done(); g.serve(ctx, l) }()
	}
	if spec.Boot == 0 {
		listen()
		notify()
	} else {
		notify()
		select {
		case <-time.After(spec.Boot):
			listen()
		case <-ctx.Done():
		}
	}
	acpi := make(chan os.Signal, 1)
	signal.Notify(acpi, syscall.SIGUSR1)
	var abort <-chan time.Time
	if spec.AbortAfter > 0 {
		abort = time.After(spec.AbortAfter)
	}
	code := 0
	select {
	case <-ctx.Done():
	case <-abort:
		log.Printf("injected fault: VM process aborts")
		code = 1
	case <-acpi:
		select {
		case <-time.After(spec.ACPI):
		case <-ctx.Done():
		}
		g.shutdown(ln)
		g.recordPoweroff()
		os.Exit(0)
	}
	g.shutdown(ln)
	os.Exit(code)
	return nil
}

// shutdown stops serving and kills every command the guest started.
func (g *guest) shutdown(ln net.Listener) {
	if ln != nil {
		ln.Close()
	}
	g.mu.Lock()
	for pg := range g.pgids {
		syscall.Kill(-pg, syscall.SIGKILL)
	}
	g.mu.Unlock()
	for _, p := range markedPIDs(g.spec.VM) {
		syscall.Kill(p, syscall.SIGKILL)
	}
}

// recordPoweroff marks the VM powered off after a guest-initiated shutdown.
func (g *guest) recordPoweroff() {
	home := os.Getenv("VBOXSIM_HOME")
	if home == "" {
		return
	}
	(&Store{Home: home}).Update(func(st *State) error {
		m := st.Find(g.spec.VM)
		if m == nil || m.GuestPID != os.Getpid() {
			return nil
		}
		m.State, m.StateChange, m.GuestPID = StatePoweroff, timeNow(), 0
		if g.spec.Linger > 0 {
			m.Session = &Session{Until: timeNow().Add(g.spec.Linger)}
		}
		return nil
	})
}

func underTmp(p string) bool {
	abs, _ := filepath.Abs(p)
	return abs == "/tmp" || strings.HasPrefix(abs, "/tmp/")
}

func (g *guest) configure() error {
	b, err := os.ReadFile(filepath.Join(g.spec.Disk, "etc", "ssh_host_ed25519_key"))
	if err != nil {
		return fmt.Errorf("read host key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return fmt.Errorf("parse host key: %w", err)
	}
	g.cfg = &ssh.ServerConfig{PublicKeyCallback: g.authorize, PasswordCallback: g.checkPassword}
	g.cfg.AddHostKey(signer)
	return nil
}

// authorize accepts a user whose key is in that user's authorized_keys on
// the disk.
func (g *guest) authorize(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	user := meta.User()
	if user == "" || strings.ContainsAny(user, "/\x00") || user == "." || user == ".." {
		return nil, errors.New("bad user")
	}
	b, err := os.ReadFile(filepath.Join(g.spec.Disk, "home", user, ".ssh", "authorized_keys"))
	if err != nil {
		return nil, fmt.Errorf("no authorized_keys for %s", user)
	}
	want := key.Marshal()
	for len(b) > 0 {
		k, _, _, rest, err := ssh.ParseAuthorizedKey(b)
		if err != nil {
			break
		}
		if string(k.Marshal()) == string(want) {
			return &ssh.Permissions{}, nil
		}
		b = rest
	}
	return nil, fmt.Errorf("key not authorized for %s", user)
}

func (g *guest) serve(ctx context.Context, ln net.Listener) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.handleConn(ctx, nc)
		}()
	}
}

func (g *guest) handleConn(ctx context.Context, nc net.Conn) {
	defer nc.Close()
	sc, chans, reqs, err := ssh.NewServerConn(nc, g.cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go func() {
		for r := range reqs {
			if r.WantReply {
				r.Reply(globalRequestOK(r), nil)
			}
		}
	}()
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		go g.session(sc.User(), ch, creqs)
	}
}

// globalRequestOK answers the connection-level requests the guest's sshd accepts:
// keepalive@openssh.com and friends, and remote port forwarding ("tcpip-forward",
// "cancel-tcpip-forward", as `ssh -R` asks; the agent's host_services). A simulated guest runs
// on the host and shares its network, so a build in it already reaches the host service at the
// address it asks for: the forward is accepted and needs no listener of its own (one would
// collide with the very service it forwards to). A request for port 0 (let the server choose)
// is refused, since nothing would listen there.
func globalRequestOK(r *ssh.Request) bool {
	switch r.Type {
	case "tcpip-forward", "cancel-tcpip-forward":
		var req struct {
			Addr string
			Port uint32
		}
		return ssh.Unmarshal(r.Payload, &req) == nil && req.Port != 0
	}
	return strings.HasPrefix(r.Type, "keepalive")
}
