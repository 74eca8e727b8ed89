package vbox

// Fuzz targets for every parser. The seed corpus is every sample; the property checked is
// that no input panics and that results are internally consistent.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func addSamples(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "samples", "*.txt"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(crlf(b))
	}
}

func FuzzParseList(f *testing.F) {
	addSamples(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		refs, err := ParseList(b)
		if err != nil && len(refs) > 0 {
			t.Fatalf("refs and error together")
		}
		for _, r := range refs {
			if len(r.UUID) != 36 || r.UUID != strings.ToLower(r.UUID) {
				t.Fatalf("bad uuid %q", r.UUID)
			}
		}
	})
}

func FuzzParseVMInfo(f *testing.F) {
	addSamples(f)
	f.Add([]byte("name=\"w\"\nUUID=\"2e16b1fc-675d-4a7a-a9a1-e89a8bde7874\"\nnic1=\"nat\"\nmtu=\"0\"\nlocalhostReachable=\"1\"\nnic2=\"nat\"\nlocalhostReachable=\"0\"\nnic3=\"none\"\n"))
	f.Add([]byte("name=\"w\"\nlocalhostReachable=\"1\"\nnic1=\"nat\"\nlocalhostReachable=\"maybe\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseVMInfo(b)
		if err == nil && info == nil {
			t.Fatal("nil info without error")
		}
		if info != nil {
			for _, fw := range info.Forwards {
				_ = fw.Rule()
			}
			open := map[int]bool{}
			for _, n := range info.HostLoopbackOpen() {
				open[n] = true
			}
			for _, n := range info.NICs {
				if want := n.LocalhostReachable != nil && *n.LocalhostReachable; open[n.Index] != want && want {
					t.Fatalf("nic %d reachable but not in HostLoopbackOpen %v", n.Index, info.HostLoopbackOpen())
				}
			}
		}
	})
}

func FuzzParseSnapshots(f *testing.F) {
	addSamples(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		tree, err := ParseSnapshots(b)
		if err == nil && tree == nil {
			t.Fatal("nil tree without error")
		}
		for _, s := range tree.All() {
			_ = tree.Find(s.UUID)
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	addSamples(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseVersion(b)
		if err == nil && v.Raw == "" {
			t.Fatal("version without raw line")
		}
	})
}

func FuzzClassify(f *testing.F) {
	addSamples(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, code := range []int{0, 1, 2} {
			err := Classify([]string{"x"}, code, b)
			if code != 0 && err == nil {
				t.Fatalf("exit %d classified as success", code)
			}
			if err != nil {
				_ = err.Error()
			}
		}
	})
}

func FuzzParseSmall(f *testing.F) {
	addSamples(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = ParseProgress(b)
		_ = ParseBlocks(b)
		_, _, _ = parseValue(b)
		_, _ = parseExtraData(b)
		_, _ = parseSnapshotTaken(b)
		w := newProgressWriter(func(p int) {
			if p < 0 || p > 100 {
				t.Fatalf("progress %d", p)
			}
		})
		_, _ = w.Write(b)
	})
}
