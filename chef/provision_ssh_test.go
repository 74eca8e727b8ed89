package chef_test

// These tests provision over SSH into a VirtualBox simulator guest, the way reconcile builds a
// golden image: a box carrying the chef-solo stand-in, imported, started, reached through its
// forwarded port with guest's SSH client, which satisfies chef.Session.

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/chef"
	"github.com/fleet-agent/fleet/chef/chefsim"
	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/vbox/vboxsim"
	"github.com/fleet-agent/fleet/vbox/vboxsim/simtest"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
)

var _ chef.Session = (*guest.Client)(nil)

// simGuest starts a simulator VM from a box that carries the chef-solo stand-in and returns an
// SSH client to it and the VM's disk (the guest's root folder).
func simGuest(t *testing.T) (*guest.Client, string) {
	t.Helper()
	sim := simtest.New(t)
	ovf := sim.MakeBox(t, vboxsim.BoxOptions{
		AuthorizedKeys: []byte(guest.VagrantInsecurePublicKey + "\n"),
		Bins:           []string{chefsim.Binary(t)},
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	for _, args := range [][]string{
		{"import", ovf, "--vsys", "0", "--vmname", "golden"},
		{"modifyvm", "golden", "--natpf1", "ssh,tcp,127.0.0.1," + port + ",,22"},
		{"startvm", "golden", "--type", "headless"},
	} {
		if _, stderr, code := sim.Run(t, args...); code != 0 {
			t.Fatalf("vboxsim %v: exit %d: %s", args, code, stderr)
		}
	}
	client, err := guest.WaitForSSH(context.Background(), guest.Config{
		VM: "golden", Addr: addr, User: "vagrant",
		Signers:         []ssh.Signer{guest.VagrantInsecureSigner()},
		TrustOnFirstUse: true,
	}, 2*time.Minute)
	if err != nil {
		t.Fatalf("wait for ssh: %v", err)
	}
	t.Cleanup(func() { client.Close() })
	return client, filepath.Join(sim.Home, "machines", "golden", "disk")
}

func bundle(t *testing.T, recipes []string, attrs map[string]any) []byte {
	t.Helper()
	res, err := chef.Resolve([]string{"testdata/provision/cookbooks"}, recipes)
	if err != nil {
		t.Fatal(err)
	}
	b, err := chef.Bundle(res, chef.Node{Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProvisionOverSSHIntoASimulatorGuest(t *testing.T) {
	client, disk := simGuest(t)
	ctx := context.Background()

	t.Run("the stand-in applies exactly the run list", func(t *testing.T) {
		attrs := map[string]any{"rvm": map[string]any{"rubies": []any{"1.9.2", "1.8.7"}}}
		var log bytes.Buffer
		if err := chef.Provision(ctx, client, bundle(t, []string{"app"}, attrs), chef.Options{}, &log); err != nil {
			t.Fatalf("Provision: %v\nlog:\n%s", err, log.String())
		}
		runs, err := chefsim.ReadRuns(disk)
		if err != nil || len(runs) != 1 {
			t.Fatalf("recorded runs %+v, %v: want one", runs, err)
		}
		got := []any{runs[0].OK, runs[0].RunList, runs[0].Applied, runs[0].Attributes}
		want := []any{true, []string{"recipe[app]"}, []string{"base::default", "app::default"}, attrs}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("recorded run: ok, run list, applied, attributes (-want +got):\n%s", diff)
		}
		if !strings.Contains(log.String(), "Recipe: app::default") {
			t.Errorf("chef's output did not reach the log:\n%s", log.String())
		}
	})

	t.Run("a failing recipe returns chef's last lines", func(t *testing.T) {
		var log bytes.Buffer
		err := chef.Provision(ctx, client, bundle(t, []string{"base", "broken"}, nil), chef.Options{}, &log)
		var pe *chef.ProvisionError
		if !errors.As(err, &pe) {
			t.Fatalf("Provision error %v, want a *chef.ProvisionError", err)
		}
		var ee *guest.ExitError
		if !errors.As(err, &ee) || ee.Code != 1 {
			t.Errorf("error %v does not carry the guest's exit status 1", err)
		}
		tail := strings.Join(pe.Tail, "\n")
		if pe.Step != "chef-solo" || pe.Recipe != "broken" || !strings.Contains(tail, "FATAL: Mixlib::ShellOut::ShellCommandFailed: Expected process to exit with [0], but received '3'") {
			t.Errorf("step %q recipe %q tail:\n%s", pe.Step, pe.Recipe, tail)
		}
		runs, _ := chefsim.ReadRuns(disk)
		if len(runs) != 2 || runs[1].OK {
			t.Errorf("recorded runs %+v: want a second, failed run", runs)
		}
	})
}
