package golden

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/internal/sshdtest"
)

func TestGoldenHardeningCheckRefusedByKeyOnlySSHD(t *testing.T) {
	s := sshdtest.Start(t)
	if err := CheckPasswordRefused(context.Background(), s.Addr, s.User, "vagrant"); err != nil {
		t.Fatalf("key-only sshd: %v, want refused (nil)", err)
	}
}

// passwordServer is an in-process SSH server on loopback that accepts password "s3cret-pw".
func passwordServer(t *testing.T) string {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PasswordCallback: func(_ ssh.ConnMetadata, p []byte) (*ssh.Permissions, error) {
		if string(p) == "s3cret-pw" {
			return nil, nil
		}
		return nil, errors.New("no")
	}}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if sc, chans, reqs, err := ssh.NewServerConn(c, cfg); err == nil {
				go ssh.DiscardRequests(reqs)
				for range chans {
				}
				sc.Close()
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func TestGoldenHardeningCheckReportsAcceptedPassword(t *testing.T) {
	addr := passwordServer(t)
	cases := []struct {
		password string
		accepted bool
	}{{"s3cret-pw", true}, {"wrong", false}}
	for _, tc := range cases {
		err := CheckPasswordRefused(context.Background(), addr, "vagrant", tc.password)
		if got := errors.Is(err, ErrPasswordAccepted); got != tc.accepted {
			t.Errorf("password %q: err = %v, want accepted=%v", tc.password, err, tc.accepted)
		}
		if err != nil && strings.Contains(err.Error(), tc.password) {
			t.Errorf("error %q shows the password", err)
		}
	}
}
