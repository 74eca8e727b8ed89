package redistest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestStartServesIsolatedServers(t *testing.T) {
	a := Start(t)
	b := Start(t)
	if a.Addr == b.Addr {
		t.Fatalf("two servers share address %s", a.Addr)
	}
	ctx := context.Background()
	ca, cb := a.Client(t), b.Client(t)
	if err := ca.Set(ctx, "k", "a", 0).Err(); err != nil {
		t.Fatalf("set on a: %v", err)
	}
	if n, err := cb.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("key written to server a is visible on b: n=%d err=%v", n, err)
	}
	// Persistence is off, so a test's data never outlives its server.
	cfg, err := ca.ConfigGet(ctx, "save").Result()
	if err != nil {
		t.Fatalf("config get save: %v", err)
	}
	if cfg["save"] != "" {
		t.Errorf("save = %q, want persistence disabled", cfg["save"])
	}
}

// TestStartACLRequiresTheUser: a StartACL server refuses unauthenticated
// commands, lets its user in, and keeps the password off its command line.
func TestStartACLRequiresTheUser(t *testing.T) {
	const pw = "pw-acl-redistest-1"
	s := StartACL(t, ACL{Username: "fleet", Password: pw})
	ctx := context.Background()
	if err := s.Client(t).Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("authenticated set: %v", err)
	}
	anon := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer anon.Close()
	if err := anon.Get(ctx, "k").Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("unauthenticated get: err = %v, want NOAUTH", err)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), pw) {
			t.Errorf("%s shows the password: %q", p, b)
		}
	}
}

// TestPersistentServerKeepsDataAcrossKillAndRestart: a StartPersistent server that is killed
// refuses connections, and after Restart answers on the same address with every write it
// acknowledged before the kill.
func TestPersistentServerKeepsDataAcrossKillAndRestart(t *testing.T) {
	s := StartPersistent(t)
	ctx := context.Background()
	c := s.Client(t)
	for i := range 100 {
		if err := c.RPush(ctx, "list", i).Err(); err != nil {
			t.Fatalf("rpush: %v", err)
		}
	}
	s.Kill()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("ping answered after Kill")
	}
	s.Restart()
	n, err := c.LLen(ctx, "list").Result()
	if err != nil || n != 100 {
		t.Fatalf("after restart: llen = %d, %v; want 100", n, err)
	}
}
