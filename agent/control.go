// What drain, resume and status share: finding the control socket of the agent that serves
// this fleet.hcl, and calling it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/spf13/cobra"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/spec"
)

// socketFlag is --socket, shared by the control commands.
type socketFlag struct{ path string }

func (f *socketFlag) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.path, "socket", "", "control socket (default: state_dir/"+control.SocketName+" of fleet.hcl)")
}

// stateDirRe finds state_dir in a fleet.hcl that does not load, so that `agent status` still
// reaches the agent to show why the edit was rejected.
var stateDirRe = regexp.MustCompile(`(?m)^\s*state_dir\s*=\s*"([^"]+)"`)

// socketPath returns --socket, else state_dir/agent.sock of fleet.hcl. A fleet.hcl that does
// not load (the agent is running on the last good one) is searched for state_dir as text.
func (a *app) socketPath(f socketFlag) (string, error) {
	if f.path != "" {
		return f.path, nil
	}
	path, err := a.configFile()
	if err != nil {
		return "", usageError{fmt.Errorf("%w, or pass --socket PATH", err)}
	}
	if fleet, diags := spec.Load(path); !diags.HasErrors() {
		return filepath.Join(fleet.Host.StateDir, control.SocketName), nil
	}
	files := []string{path}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		files, _ = filepath.Glob(filepath.Join(path, "*.hcl"))
	}
	dir := "/var/lib/fleet"
	for _, name := range files {
		b, _ := os.ReadFile(name)
		if m := stateDirRe.FindSubmatch(b); m != nil {
			dir = string(m[1])
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(filepath.Dir(name), dir)
			}
		}
	}
	return filepath.Join(dir, control.SocketName), nil
}

// callAgent sends req and explains the usual failures in operator terms.
func (a *app) callAgent(ctx context.Context, f socketFlag, req control.Request, progress func(control.Response)) (control.Response, error) {
	sock, err := a.socketPath(f)
	if err != nil {
		return control.Response{}, err
	}
	r, err := control.Call(ctx, sock, req, progress)
	switch {
	case errors.Is(err, control.ErrNotRunning):
		return r, fmt.Errorf("no agent is running on %s (start it with 'agent run')", sock)
	case errors.Is(err, os.ErrPermission):
		return r, fmt.Errorf("%s: permission denied: only the agent's user and root may use it", sock)
	}
	return r, err
}
