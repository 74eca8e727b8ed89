package redistest

import (
	"context"
	"testing"
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
