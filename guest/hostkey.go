package guest

// This file holds host key pinning: the string form a VM's key is stored in,
// its parser, and the callback that refuses a changed key.

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ErrHostKeyChanged is matched (errors.Is) by a *HostKeyError.
var ErrHostKeyChanged = errors.New("host key changed")

// HostKeyError reports that a VM presented a host key other than the pinned
// one. It is never retried: it means the VM was replaced or something else
// answers on its port.
type HostKeyError struct {
	VM   string
	Addr string
	// Want and Got are SHA256 fingerprints (ssh.FingerprintSHA256).
	Want string
	Got  string
}

func (e *HostKeyError) Error() string {
	return fmt.Sprintf("host key of vm %s at %s changed: pinned %s, got %s; refusing to connect",
		e.VM, e.Addr, e.Want, e.Got)
}

// Is makes errors.Is(err, ErrHostKeyChanged) true.
func (e *HostKeyError) Is(target error) bool { return target == ErrHostKeyChanged }

// FormatHostKey returns key in authorized_keys form without comment or
// newline ("ssh-ed25519 AAAA..."), the form stored with a VM's facts and
// accepted by Config.HostKey.
func FormatHostKey(key ssh.PublicKey) string {
	return string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(key)))
}

// ParseHostKey parses a pinned host key in the form FormatHostKey writes. A
// trailing comment is tolerated; options and extra lines are not.
func ParseHostKey(s string) (ssh.PublicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("parse host key: empty")
	}
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("parse host key: more than one line")
	}
	fields := strings.Fields(s)
	if len(fields) < 2 {
		return nil, errors.New("parse host key: want \"TYPE BASE64\"")
	}
	key, _, options, _, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("parse host key: %w", err)
	}
	if len(options) > 0 || key.Type() != fields[0] {
		return nil, errors.New("parse host key: want \"TYPE BASE64\" without options")
	}
	return key, nil
}

// hostKeyPolicy returns the callback and the host key algorithms for cfg.
// With a pinned key the client asks only for that key's algorithms, so a
// server that also has, say, an ECDSA key cannot look like a changed key.
// seen receives the key the server presented.
func hostKeyPolicy(cfg Config, seen *ssh.PublicKey) (ssh.HostKeyCallback, []string, error) {
	record := func(_ string, _ net.Addr, key ssh.PublicKey) { *seen = key }
	if cfg.HostKeyCallback != nil {
		return func(host string, remote net.Addr, key ssh.PublicKey) error {
			record(host, remote, key)
			return cfg.HostKeyCallback(host, remote, key)
		}, nil, nil
	}
	if cfg.HostKey == "" {
		// TrustOnFirstUse, checked by validate.
		return func(host string, remote net.Addr, key ssh.PublicKey) error {
			record(host, remote, key)
			return nil
		}, nil, nil
	}
	pinned, err := ParseHostKey(cfg.HostKey)
	if err != nil {
		return nil, nil, fmt.Errorf("pinned key of vm %s: %w", cfg.VM, err)
	}
	want := pinned.Marshal()
	cb := func(host string, remote net.Addr, key ssh.PublicKey) error {
		record(host, remote, key)
		if bytes.Equal(key.Marshal(), want) {
			return nil
		}
		return &HostKeyError{
			VM:   cfg.VM,
			Addr: cfg.Addr,
			Want: ssh.FingerprintSHA256(pinned),
			Got:  ssh.FingerprintSHA256(key),
		}
	}
	return cb, algorithmsFor(pinned.Type()), nil
}

// algorithmsFor lists the host key algorithms that produce a key of type t.
func algorithmsFor(t string) []string {
	if t == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{t}
}
