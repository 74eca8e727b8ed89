package sandbox

import (
	"testing"
	"time"

	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/spec"
)

// nopVM is a VM that is never driven; New only reads its name.
type nopVM struct{ VM }

func (nopVM) Name() string { return "w-1" }

func TestNewChecksTheConfig(t *testing.T) {
	key, err := guest.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var agent guest.Config
	agent.Signers = append(agent.Signers, key)
	mq := newMemQueue()
	valid := func() Config {
		return Config{VM: nopVM{}, Queue: mq, Slot: mq, Guest: agent, StateDir: t.TempDir()}
	}
	tests := []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"valid", func(*Config) {}, true},
		{"per-job snapshot strategy", func(c *Config) { c.Rollback = spec.RollbackPerJobSnapshot }, true},
		{"no vm", func(c *Config) { c.VM = nil }, false},
		{"no queue", func(c *Config) { c.Queue = nil }, false},
		{"no slot", func(c *Config) { c.Slot = nil }, false},
		{"no agent key", func(c *Config) { c.Guest.Signers = nil }, false},
		{"trust on first use", func(c *Config) { c.Guest.TrustOnFirstUse = true }, false},
		{"no state dir", func(c *Config) { c.StateDir = "" }, false},
		{"unknown strategy", func(c *Config) { c.Rollback = "reboot" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.edit(&cfg)
			_, err := New(cfg, nil)
			if (err == nil) != tt.ok {
				t.Errorf("New = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestNewFillsDefaults(t *testing.T) {
	var agent guest.Config
	key, err := guest.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	agent.Signers = append(agent.Signers, key)
	mq := newMemQueue()
	s, err := New(Config{VM: nopVM{}, Queue: mq, Slot: mq, Guest: agent, StateDir: t.TempDir(), FlushInterval: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := s.cfg
	if c.Rollback != spec.RollbackReadySnapshot || c.Guest.User != DefaultUser || c.SSHWait != DefaultSSHWait ||
		c.FlushInterval != DefaultFlushInterval || c.ChunkSize != DefaultChunkSize {
		t.Errorf("defaults not filled in (flush interval must be capped at %s): %+v", DefaultFlushInterval, c)
	}
	if ep := s.guestConfig(Endpoint{Addr: "127.0.0.1:1", HostKey: "ssh-ed25519 AAAA"}); ep.HostKey == "" || ep.TrustOnFirstUse {
		t.Errorf("guest config %+v does not pin the host key", ep)
	}
}
