package guest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
)

func TestLoadOrCreateKeyCreatesOnceWithMode0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	first, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	if got := first.PublicKey().Type(); got != ssh.KeyAlgoED25519 {
		t.Errorf("key type = %s, want ed25519", got)
	}
	fi, err := os.Stat(filepath.Join(dir, AgentKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", fi.Mode().Perm())
	}
	second, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatalf("second call: %v", err)
	}
	if !bytes.Equal(first.PublicKey().Marshal(), second.PublicKey().Marshal()) {
		t.Error("second call made a new key, want the stored one")
	}
}

func TestLoadOrCreateKeyRacersAgreeOnOneKey(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	keys := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := LoadOrCreateKey(dir)
			errs[i] = err
			if err == nil {
				keys[i] = FormatHostKey(s.PublicKey())
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if keys[i] != keys[0] {
			t.Errorf("caller %d got a different key", i)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(left) > 0 {
		t.Errorf("temporary key files left: %v", left)
	}
}

func TestLoadOrCreateKeyRefusesAnOpenKeyFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreateKey(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, AgentKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(dir); err == nil {
		t.Error("LoadOrCreateKey accepted a world-readable key file")
	}
}

func TestVagrantInsecureKeyIsTheWellKnownOne(t *testing.T) {
	got := VagrantInsecureSigner().PublicKey()
	want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(VagrantInsecurePublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Marshal(), want.Marshal()) {
		t.Error("private key does not match VagrantInsecurePublicKey")
	}
	// The fingerprint every Vagrant user sees for the insecure key.
	if fp := ssh.FingerprintSHA256(got); fp != "SHA256:1M4RzhMyWuFS/86uPY/ce2prh/dVTHW7iD2RhpquOZA" {
		t.Errorf("fingerprint = %s, not the Vagrant insecure key's", fp)
	}
}

func TestRewriteAuthorizedKeys(t *testing.T) {
	agent := newSigner(t).PublicKey()
	other := newSigner(t).PublicKey()
	insecure, _, _, _, err := ssh.ParseAuthorizedKey([]byte(VagrantInsecurePublicKey))
	if err != nil {
		t.Fatal(err)
	}
	line := func(k ssh.PublicKey, comment string) string {
		return FormatHostKey(k) + " " + comment + "\n"
	}
	agentLine := FormatHostKey(agent) + " fleet-agent\n"
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "empty file gets the agent key", in: "", want: agentLine},
		{name: "insecure key replaced", in: VagrantInsecurePublicKey + "\n", want: agentLine},
		{
			name: "other keys and comments kept in order",
			in:   "# team keys\n" + line(other, "alice") + "\n" + VagrantInsecurePublicKey + "\n",
			want: "# team keys\n" + line(other, "alice") + "\n" + agentLine,
		},
		{name: "agent key present is kept once", in: line(agent, "mine") + line(agent, "dup"), want: line(agent, "mine")},
		{
			name: "insecure key with options removed",
			in:   `no-pty,from="10.0.0.1" ` + VagrantInsecurePublicKey + "\n",
			want: agentLine,
		},
		{name: "missing final newline added", in: line(other, "bob")[:len(line(other, "bob"))-1], want: line(other, "bob") + agentLine},
		{name: "unparsable line kept", in: "garbage here\n", want: "garbage here\n" + agentLine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(RewriteAuthorizedKeys([]byte(tt.in), agent, insecure))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rewrite (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzRewriteAuthorizedKeys(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte(VagrantInsecurePublicKey + "\n# c\n\nssh-ed25519 AAAA garbage\n"))
	f.Add([]byte("command=\"x\" " + VagrantInsecurePublicKey + "\r\n" + VagrantInsecurePublicKey))
	agent, err := ssh.ParsePrivateKey([]byte(testAgentKey))
	if err != nil {
		f.Fatal(err)
	}
	insecure := VagrantInsecureSigner().PublicKey()
	f.Fuzz(func(t *testing.T, in []byte) {
		out := RewriteAuthorizedKeys(in, agent.PublicKey(), insecure)
		agentLines, insecureLines := 0, 0
		for l := range bytes.Lines(out) {
			k, ok := lineKey(l)
			switch {
			case !ok:
			case bytes.Equal(k, agent.PublicKey().Marshal()):
				agentLines++
			case bytes.Equal(k, insecure.Marshal()):
				insecureLines++
			}
		}
		if agentLines != 1 || insecureLines != 0 {
			t.Fatalf("output has %d agent and %d insecure key lines, want 1 and 0:\n%q", agentLines, insecureLines, out)
		}
		if again := RewriteAuthorizedKeys(out, agent.PublicKey(), insecure); !bytes.Equal(again, out) {
			t.Fatalf("rewrite is not idempotent:\n%q\n%q", out, again)
		}
		if len(out) > 0 && out[len(out)-1] != '\n' {
			t.Fatalf("output does not end in a newline: %q", out)
		}
	})
}

func TestParseHostKey(t *testing.T) {
	key := newSigner(t).PublicKey()
	formatted := FormatHostKey(key)
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{name: "formatted", in: formatted},
		{name: "with comment and newline", in: formatted + " root@vm\n"},
		{name: "empty", in: "", wantErr: true},
		{name: "type only", in: "ssh-ed25519", wantErr: true},
		{name: "bad base64", in: "ssh-ed25519 !!!", wantErr: true},
		{name: "two lines", in: formatted + "\n" + formatted, wantErr: true},
		{name: "options", in: "no-pty " + formatted, wantErr: true},
		{name: "type mismatch", in: "ssh-rsa " + strings.Fields(formatted)[1], wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHostKey(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseHostKey(%q) succeeded, want an error", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseHostKey: %v", err)
			}
			if !bytes.Equal(got.Marshal(), key.Marshal()) {
				t.Error("parsed a different key")
			}
		})
	}
}

func FuzzParseHostKey(f *testing.F) {
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq7Yr9dNO3lqjyEnnW5b7M/DjCEg1BRzIK5wT8N2ZzS")
	f.Add(VagrantInsecurePublicKey)
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		k, err := ParseHostKey(in)
		if err != nil {
			return
		}
		again, err := ParseHostKey(FormatHostKey(k))
		if err != nil {
			t.Fatalf("FormatHostKey output does not parse: %v", err)
		}
		if !bytes.Equal(again.Marshal(), k.Marshal()) {
			t.Fatal("format/parse round trip changed the key")
		}
	})
}

func TestInstallAgentKeyReplacesTheInsecureKey(t *testing.T) {
	s, cfg := startSSHD(t)
	s.Authorize(t, VagrantInsecureSigner().PublicKey())
	boxCfg := cfg
	boxCfg.Signers = []ssh.Signer{VagrantInsecureSigner()}
	box := dial(t, boxCfg)

	agent, err := LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The test sshd reads its authorized_keys from its own directory, not
	// from the user's home, so the helper is pointed there.
	if err := installAgentKey(context.Background(), box, agent.PublicKey(), filepath.Join(s.Dir, "authorized_keys")); err != nil {
		t.Fatalf("install agent key: %v", err)
	}

	agentCfg := cfg
	agentCfg.Signers = []ssh.Signer{agent}
	c := dial(t, agentCfg)
	if err := c.Run(context.Background(), "true", nil, nil); err != nil {
		t.Errorf("run with the agent key: %v", err)
	}
	if _, err := Dial(context.Background(), boxCfg); !errors.Is(err, ErrAuth) {
		t.Errorf("Dial with the insecure key after install = %v, want ErrAuth", err)
	}
	// The key the test server started with is still there.
	if _, err := Dial(context.Background(), cfg); err != nil {
		t.Errorf("Dial with a pre-existing key after install: %v", err)
	}
}

// testAgentKey is a fixed ed25519 key so fuzz runs are reproducible.
const testAgentKey = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACCPhV1Ae3b4QZzJ+AlrCGucf3dmHO0uWROwGV5FuaxOWQAAAJA49sUEOPbF
BAAAAAtzc2gtZWQyNTUxOQAAACCPhV1Ae3b4QZzJ+AlrCGucf3dmHO0uWROwGV5FuaxOWQ
AAAECBXb0TNy7RItlZMNxOKRWLFiWKXuUWfAOG3UUGhmOHMI+FXUB7dvhBnMn4CWsIa5x/
d2Yc7S5ZE7AZXkW5rE5ZAAAACmZsZWV0LXRlc3QBAgM=
-----END OPENSSH PRIVATE KEY-----
`
