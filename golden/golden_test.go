package golden

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/sandbox"
	"github.com/fleet-agent/fleet/spec"
)

type recordRunner struct{ cmds []string }

func (r *recordRunner) Run(_ context.Context, cmd string, _, _ io.Writer) error {
	r.cmds = append(r.cmds, cmd)
	return nil
}

func TestWriteMarkerWritesTheSandboxMarkerFile(t *testing.T) {
	var r recordRunner
	if err := WriteMarker(context.Background(), &r, "ready ruby-1 0b5c-42"); err != nil {
		t.Fatal(err)
	}
	if len(r.cmds) != 1 || !strings.Contains(r.cmds[0], "'ready ruby-1 0b5c-42' > "+sandbox.MarkerFile) {
		t.Errorf("commands = %q, want one writing the text to %s", r.cmds, sandbox.MarkerFile)
	}
}

func TestWriteMarkerRefusesTextThatCouldLeaveItsQuotes(t *testing.T) {
	for _, text := range []string{"it's", "a;b", "$(reboot)", "x\ny"} {
		var r recordRunner
		if err := WriteMarker(context.Background(), &r, text); err == nil || len(r.cmds) != 0 {
			t.Errorf("WriteMarker(%q) = %v after %d commands, want a refusal before any", text, err, len(r.cmds))
		}
	}
}

func TestBoxKeysAndUser(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "box_key")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	own := reconcile.BoxSpec{Name: "lucid32", Spec: &spec.Box{SSH: spec.BoxSSH{User: "travis", PrivateKey: keyFile}}}
	plain := reconcile.BoxSpec{Name: "lucid32", Spec: &spec.Box{}}

	if got := SSHUser(own); got != "travis" {
		t.Errorf("SSHUser with ssh.user = %q, want travis", got)
	}
	if got := SSHUser(plain); got != DefaultUser {
		t.Errorf("SSHUser without ssh.user = %q, want %q", got, DefaultUser)
	}
	signers, err := BoxSigners(own)
	if err != nil || len(signers) != 1 || signers[0].PublicKey().Type() != ssh.KeyAlgoED25519 {
		t.Fatalf("BoxSigners with private_key = %v, %v; want the box's ed25519 key", signers, err)
	}
	signers, err = BoxSigners(plain)
	want := guest.VagrantInsecureSigner().PublicKey().Marshal()
	if err != nil || len(signers) != 1 || string(signers[0].PublicKey().Marshal()) != string(want) {
		t.Errorf("BoxSigners without private_key: want Vagrant's insecure key, got %v, %v", signers, err)
	}
	if _, err := BoxSigners(reconcile.BoxSpec{Name: "x", Spec: &spec.Box{SSH: spec.BoxSSH{PrivateKey: "/nonexistent"}}}); err == nil {
		t.Error("BoxSigners with a missing key file: want an error")
	}
}
