package watch

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// started runs a watcher on path until the test ends and returns a channel that receives one
// value per reported change and a counter of reports.
func started(t *testing.T, path string) (<-chan struct{}, *atomic.Int32) {
	t.Helper()
	w, err := New(path, Options{Debounce: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 100)
	var n atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	ready := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		ready <- w.Run(ctx, func() { n.Add(1); ch <- struct{}{} })
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if err := <-ready; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return ch, &n
}

// waitChange waits until the watcher reports a change.
func waitChange(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no change reported within 10s", what)
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSaveStylesAreSeen proves each way editors and config managers save a file is reported.
func TestSaveStylesAreSeen(t *testing.T) {
	defer goleak.VerifyNone(t)
	cases := []struct {
		name string
		// setup prepares dir and returns the path to watch.
		setup func(t *testing.T, dir string) string
		// save changes the content seen at the path.
		save func(t *testing.T, dir, path string)
	}{
		{"write in place", plainFile, func(t *testing.T, dir, path string) {
			write(t, path, "v2")
		}},
		{"truncate then write in two steps", plainFile, func(t *testing.T, dir, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("v")
			f.Sync()
			f.WriteString("2")
			f.Close()
		}},
		{"atomic writer: temp file renamed over", plainFile, func(t *testing.T, dir, path string) {
			tmp := filepath.Join(dir, ".fleet.hcl.tmp")
			write(t, tmp, "v2")
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"vim: original renamed away, new file written, backup removed", plainFile, func(t *testing.T, dir, path string) {
			bak := path + "~"
			if err := os.Rename(path, bak); err != nil {
				t.Fatal(err)
			}
			write(t, path, "v2")
			os.Remove(bak)
		}},
		{"config manager swaps a symlink into another folder", func(t *testing.T, dir string) string {
			for _, v := range []string{"v1", "v2"} {
				os.MkdirAll(filepath.Join(dir, "..rev-"+v), 0o755)
				write(t, filepath.Join(dir, "..rev-"+v, "fleet.hcl"), v)
			}
			if err := os.Symlink("..rev-v1", filepath.Join(dir, "..data")); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(dir, "fleet.hcl")
			if err := os.Symlink("..data/fleet.hcl", link); err != nil {
				t.Fatal(err)
			}
			return link
		}, func(t *testing.T, dir, path string) {
			tmp := filepath.Join(dir, "..data_tmp")
			if err := os.Symlink("..rev-v2", tmp); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
				t.Fatal(err)
			}
		}},
		{"symlink retargeted to a file in another folder", func(t *testing.T, dir string) string {
			other := filepath.Join(dir, "elsewhere")
			os.MkdirAll(other, 0o755)
			write(t, filepath.Join(other, "a.hcl"), "v1")
			write(t, filepath.Join(other, "b.hcl"), "v2")
			conf := filepath.Join(dir, "conf")
			os.MkdirAll(conf, 0o755)
			link := filepath.Join(conf, "fleet.hcl")
			if err := os.Symlink(filepath.Join(other, "a.hcl"), link); err != nil {
				t.Fatal(err)
			}
			return link
		}, func(t *testing.T, dir, path string) {
			// The target file itself is edited in its own folder: only a watch there sees it.
			write(t, filepath.Join(dir, "elsewhere", "a.hcl"), "v1 edited")
		}},
		{"file deleted", plainFile, func(t *testing.T, dir, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
		{"folder fleet: a new *.hcl file", func(t *testing.T, dir string) string {
			write(t, filepath.Join(dir, "fleet.hcl"), "v1")
			return dir
		}, func(t *testing.T, dir, path string) {
			write(t, filepath.Join(dir, "override.hcl"), "v2")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := c.setup(t, dir)
			ch, _ := started(t, path)
			c.save(t, dir, path)
			waitChange(t, ch, c.name)
		})
	}
}

func plainFile(t *testing.T, dir string) string {
	p := filepath.Join(dir, "fleet.hcl")
	write(t, p, "v1")
	return p
}

// TestUnchangedContentIsNotReported proves a rewrite with the same bytes, and a change to an
// unrelated file of the folder, are not reported: one real change later counts exactly once.
func TestUnchangedContentIsNotReported(t *testing.T) {
	dir := t.TempDir()
	path := plainFile(t, dir)
	ch, n := started(t, path)
	write(t, path, "v1")
	write(t, filepath.Join(dir, "notes.txt"), "unrelated")
	// Let both events go through a debounce before the real change, so a wrong report of them
	// would be a separate one.
	settle(t, dir)
	write(t, path, "v2")
	waitChange(t, ch, "real change")
	settle(t, dir)
	if got := n.Load(); got != 1 {
		t.Errorf("changes reported = %d, want 1 (identical rewrite or unrelated file reported)", got)
	}
}

// settle returns once a second watcher on dir, with a longer debounce, has reported a probe
// written after everything before it: every earlier event has then passed through the
// first watcher's shorter debounce window too (both read the same inotify order).
func settle(t *testing.T, dir string) {
	t.Helper()
	probe := filepath.Join(dir, "probe", "x.hcl")
	os.MkdirAll(filepath.Dir(probe), 0o755)
	w, err := New(filepath.Dir(probe), Options{Debounce: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx, func() { seen <- struct{}{} }) }()
	defer func() { cancel(); <-done }()
	write(t, probe, time.Now().String())
	write(t, filepath.Join(dir, "probe.txt"), time.Now().String())
	select {
	case <-seen:
	case <-time.After(10 * time.Second):
		t.Fatal("settle: probe never seen")
	}
}

func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.hcl")
	write(t, a, "x")
	fa := Fingerprint(a)
	cases := []struct {
		name     string
		mutate   func()
		path     string
		wantSame bool
	}{
		{"same bytes rewritten", func() { write(t, a, "x") }, a, true},
		{"bytes changed", func() { write(t, a, "y") }, a, false},
		{"missing file", func() {}, filepath.Join(dir, "nope.hcl"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.mutate()
			if got := Fingerprint(c.path) == fa; got != c.wantSame {
				t.Errorf("same fingerprint = %v, want %v", got, c.wantSame)
			}
		})
	}
	if Fingerprint(filepath.Join(dir, "nope")) != Fingerprint(filepath.Join(dir, "nope2")) {
		t.Error("two missing files should fingerprint alike")
	}
}

// BenchmarkFingerprint measures what the watcher does after each quiet period: read and hash
// a 3 KiB fleet.hcl.
func BenchmarkFingerprint(b *testing.B) {
	p := filepath.Join(b.TempDir(), "fleet.hcl")
	if err := os.WriteFile(p, make([]byte, 3<<10), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		Fingerprint(p)
	}
}
