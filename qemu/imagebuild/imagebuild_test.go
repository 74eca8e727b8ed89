package imagebuild

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseDepends(t *testing.T) {
	tests := []struct {
		name, out, want string
	}{
		{"metapackage", "linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n", "linux-image-6.1.0-56-cloud-amd64"},
		{"virtual package in brackets", "x\n  Depends: <linux-image-6.1.0-9-amd64>\n", "linux-image-6.1.0-9-amd64"},
		{"unsigned skipped", "x\n  Depends: linux-image-6.1.0-9-amd64-unsigned\n  Depends: linux-image-6.1.0-9-amd64\n", "linux-image-6.1.0-9-amd64"},
		{"no kernel dependency", "x\n  Depends: libc6\n  Recommends: linux-image-foo\n", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseDepends([]byte(tt.out)); got != tt.want {
				t.Errorf("parseDepends = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseShowDepends(t *testing.T) {
	out := "insmod /k/lib/modules/6.1/kernel/drivers/virtio/virtio.ko \n" +
		"insmod /k/lib/modules/6.1/kernel/drivers/virtio/virtio_ring.ko \n" +
		"insmod /k/lib/modules/6.1/kernel/drivers/virtio/virtio.ko \n" +
		"builtin crc32c\n" +
		"insmod relative.ko\n"
	want := []string{"/k/lib/modules/6.1/kernel/drivers/virtio/virtio.ko", "/k/lib/modules/6.1/kernel/drivers/virtio/virtio_ring.ko"}
	if diff := cmp.Diff(want, parseShowDepends([]byte(out))); diff != "" {
		t.Errorf("parseShowDepends (-want +got):\n%s", diff)
	}
}

func TestParseLdd(t *testing.T) {
	out := "\tlinux-vdso.so.1 (0x00007fe6459f5000)\n" +
		"\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007fe64589a000)\n" +
		"\tlibmissing.so => not found\n" +
		"\t/lib64/ld-linux-x86-64.so.2 (0x00007fe6459f7000)\n"
	want := []string{"/lib/x86_64-linux-gnu/libz.so.1", "/lib64/ld-linux-x86-64.so.2"}
	if diff := cmp.Diff(want, parseLdd([]byte(out))); diff != "" {
		t.Errorf("parseLdd (-want +got):\n%s", diff)
	}
}

func FuzzParsers(f *testing.F) {
	f.Add([]byte("  Depends: linux-image-6.1.0-56-cloud-amd64\ninsmod /a.ko\n\tlibz.so.1 => /lib/libz.so.1 (0x1)\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d := parseDepends(b); d != "" && (d[:12] != "linux-image-") {
			t.Errorf("parseDepends = %q", d)
		}
		for _, m := range parseShowDepends(b) {
			if m == "" || m[0] != '/' {
				t.Errorf("module %q not absolute", m)
			}
		}
		for _, p := range parseLdd(b) {
			if p == "" || p[0] != '/' {
				t.Errorf("library %q not absolute", p)
			}
		}
	})
}

// TestBuildIsCachedByInputs builds the image (skipped without the host tools), checks its
// files, and checks that a second build is the same folder while a changed input is not.
func TestBuildIsCachedByInputs(t *testing.T) {
	if m := Missing(); len(m) > 0 {
		t.Skipf("host tools missing (scripts/qemu-deps.sh installs them): %v", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	img, err := Build(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{img.Kernel, img.Initrd, img.Disk, img.PrivateKey} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("image file %s: %v", p, err)
		}
	}
	again, err := Build(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Dir != img.Dir || again.Key != img.Key {
		t.Errorf("second build = %s, want the cached %s", again.Dir, img.Dir)
	}
	extra := filepath.Join(t.TempDir(), "hello")
	if err := os.WriteFile(extra, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	in1, err := collectInputs(ctx, Options{Extra: map[string]File{"/usr/bin/hello": {Src: extra}}}, mustKernelDeb(t, img))
	if err != nil {
		t.Fatal(err)
	}
	if in1.key() == img.Key {
		t.Error("an extra file did not change the cache key")
	}
}

func mustKernelDeb(t *testing.T, img *Image) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(filepath.Dir(img.Dir), "debs", "*.deb"))
	if len(m) == 0 {
		t.Fatal("no kernel .deb in the cache")
	}
	return m[len(m)-1]
}
