package qemu

// Benchmarks on real VMs (make bench): per-job overhead from job end to ready for the two
// rollback mechanisms, and the time to scale a pool from 0 to 4 workers. Each reports its
// figure as a custom metric (s/job, s/scale) for the bench table. Run with
//   go test -run '^$' -bench BenchmarkQEMU -benchtime 5x ./qemu/

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/reconcile"
)

// BenchmarkQEMURollback measures job end -> SSH ready with the clock set. loadvm (the default):
// pause, loadvm ready, cont, in the same process. overlay: kill the process, replace the
// disk with a fresh overlay on the golden and resume the golden's saved state.
func BenchmarkQEMURollback(b *testing.B) {
	e := newEnv(b, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e.converge(b, ctx)
	vm := e.p.VM("q-1")
	b.Run("loadvm", func(b *testing.B) {
		start := time.Now()
		defer func() { b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/job") }()
		for i := 0; i < b.N; i++ {
			if err := vm.PowerOff(ctx); err != nil {
				b.Fatal(err)
			}
			if err := vm.RestoreSnapshot(ctx, reconcile.SnapshotReady); err != nil {
				b.Fatal(err)
			}
			if err := vm.Start(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("overlay", func(b *testing.B) {
		f, err := readFacts(e.p.dir("q-1"))
		if err != nil {
			b.Fatal(err)
		}
		state := filepath.Join(e.p.dir(f.From), stateFile)
		start := time.Now()
		defer func() { b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/job") }()
		for i := 0; i < b.N; i++ {
			f, _ = readFacts(e.p.dir("q-1"))
			e.p.kill(f)
			os.Remove(filepath.Join(e.p.dir("q-1"), diskFile))
			if err := e.p.overlay(ctx, "q-1"); err != nil {
				b.Fatal(err)
			}
			g, err := e.p.start(ctx, "q-1", launch{incoming: state})
			if err != nil {
				b.Fatal(err)
			}
			if err := e.p.waitRunning(ctx, g); err != nil {
				b.Fatal(err)
			}
			c, err := e.p.waitSSH(ctx, "q-1", g.SSHPort, g.User, "", nil)
			if err != nil {
				b.Fatal(err)
			}
			err = setClock(ctx, c)
			c.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkQEMUScale0To4 measures an apply from 0 to 4 workers of a pool whose golden exists.
func BenchmarkQEMUScale0To4(b *testing.B) {
	e := newEnv(b, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e.desired.Pools[0].VMs = 1
	e.converge(b, ctx) // box and golden
	e.desired.Pools[0].VMs = 0
	e.converge(b, ctx)
	var took time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.desired.Pools[0].VMs = 4
		start := time.Now()
		e.converge(b, ctx)
		took += time.Since(start)
		b.StopTimer()
		e.desired.Pools[0].VMs = 0
		e.converge(b, ctx)
		b.StartTimer()
	}
	b.ReportMetric(took.Seconds()/float64(b.N), "s/scale")
}
