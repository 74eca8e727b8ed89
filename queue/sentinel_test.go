package queue

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/internal/redistest"
)

// TestSentinelFailoverKeepsTheQueueWorking: a primary, a replica and one Sentinel, all real
// redis-server processes on loopback. The agent's client connects through the Sentinel URL
// form (master_name). The primary is killed while a job runs: the job's result, written
// while the Sentinel fails over, is recorded on the promoted replica (directly or through the
// outbox), and the next job is submitted, fetched and finished there.
func TestSentinelFailoverKeepsTheQueueWorking(t *testing.T) {
	primary := redistest.Start(t)
	replica := redistest.StartReplica(t, primary)
	sentinel := redistest.StartSentinel(t, "mymaster", primary, time.Second, replica)
	ctx := fetchCtx(t)
	c, err := Open(Config{URL: "redis://" + sentinel.Addr + "/0?master_name=mymaster", Host: "build-01",
		OutboxDir: filepath.Join(t.TempDir(), "outbox")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := c.NewSlot("0", []string{"builds"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Submit(ctx, "builds", testArgs("before")); err != nil {
		t.Fatal(err)
	}
	j, err := s.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every write so far has reached the replica (replication is asynchronous).
	if n, err := primary.Client(t).Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT for the replica: %d, %v", n, err)
	}

	primary.Kill()
	if err := s.Finish(ctx, j, Result{State: StatePassed}); err != nil {
		t.Fatalf("finish during the failover: %v", err)
	}
	run(t, c)
	promoted := replica.Client(t)
	eventually(t, "the replica to be promoted", func() bool {
		addr, err := sentinel.Client(t).Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster").StringSlice()
		return err == nil && len(addr) == 2 && addr[0]+":"+addr[1] == replica.Addr
	})
	eventually(t, "job before to be recorded on the promoted replica", func() bool {
		st, err := promoted.HGet(ctx, "resque:fleet:job:before", "state").Result()
		return err == nil && st == string(StatePassed)
	})
	eventually(t, "a submit through the Sentinel to succeed", func() bool {
		_, err := c.Submit(ctx, "builds", testArgs("after"))
		return err == nil
	})
	j, err = s.Fetch(ctx)
	if err != nil || j.ID != "after" {
		t.Fatalf("fetch after the failover: %v, %v; want job after", j, err)
	}
	if err := s.Finish(ctx, j, Result{State: StatePassed}); err != nil {
		t.Fatalf("finish after the failover: %v", err)
	}
	if n, err := promoted.Get(ctx, "resque:stat:processed").Int(); err != nil || n != 2 {
		t.Fatalf("processed on the promoted replica = %d, %v; want 2", n, err)
	}
	if n := promoted.LLen(ctx, "resque:fleet:processing:"+s.ID()+":builds").Val(); n != 0 {
		t.Fatalf("%d payloads left in the processing list", n)
	}
}
