package boxcache

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/spec"
)

// makeBox packs a small box folder and returns the archive bytes and their sha256 checksum.
func makeBox(t *testing.T) ([]byte, string) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"box.ovf": "<ovf/>", "metadata.json": `{"provider":"virtualbox"}`, "disk/bin/x": "#!/bin/sh\n"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := Pack(&b, dir); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b.Bytes())
	return b.Bytes(), "sha256:" + hex.EncodeToString(sum[:])
}

func boxSpec(url, checksum string) reconcile.BoxSpec {
	return reconcile.BoxSpec{Name: "lucid32", Version: "2.1.0", Spec: &spec.Box{Name: "lucid32", Version: "2.1.0", URL: url, Checksum: checksum}}
}

func TestFetch(t *testing.T) {
	data, sum := makeBox(t)
	file := filepath.Join(t.TempDir(), "lucid32.box")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/lucid32.box":
			w.Write(data)
		case "/busy.box":
			http.Error(w, "try later", http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	wrong := "sha256:" + hex.EncodeToString(make([]byte, 32))
	tests := []struct {
		name          string
		url, checksum string
		wantErr       error
		wantTransient bool
	}{
		{name: "file url with checksum", url: "file://" + file, checksum: sum},
		{name: "http url with checksum", url: srv.URL + "/lucid32.box", checksum: sum},
		{name: "no checksum is not verified", url: srv.URL + "/lucid32.box"},
		{name: "checksum mismatch", url: "file://" + file, checksum: wrong, wantErr: ErrChecksum},
		{name: "server error is transient", url: srv.URL + "/busy.box", wantTransient: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Cache{Dir: t.TempDir()}
			dir, err := c.Fetch(context.Background(), boxSpec(tt.url, tt.checksum))
			if tt.wantErr != nil || tt.wantTransient {
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("Fetch error = %v, want %v", err, tt.wantErr)
				}
				if reconcile.IsTransient(err) != tt.wantTransient {
					t.Errorf("transient = %v, want %v (%v)", reconcile.IsTransient(err), tt.wantTransient, err)
				}
				if list, _ := c.List(); len(list) != 0 {
					t.Errorf("failed fetch left %v in the cache", list)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "disk", "bin", "x")); err != nil || string(b) != "#!/bin/sh\n" {
				t.Errorf("unpacked file: %q, %v", b, err)
			}
			list, err := c.List()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]reconcile.BoxKey{{Name: "lucid32", Version: "2.1.0"}}, list); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFetchIsCached checks a second fetch of the same version downloads nothing, and Remove
// forgets it.
func TestFetchIsCached(t *testing.T) {
	data, sum := makeBox(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	c := &Cache{Dir: t.TempDir()}
	b := boxSpec(srv.URL+"/lucid32.box", sum)
	for range 2 {
		if _, err := c.Fetch(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("downloads = %d, want 1", n)
	}
	if err := c.Remove("lucid32", "2.1.0"); err != nil {
		t.Fatal(err)
	}
	if list, _ := c.List(); len(list) != 0 {
		t.Errorf("List after Remove = %v", list)
	}
}

func TestUnpackRefusesEscapes(t *testing.T) {
	tests := []struct {
		name  string
		entry string
	}{
		{"parent", "../evil"},
		{"absolute", "/etc/evil"},
		{"nested parent", "a/../../evil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tw := tar.NewWriter(&b)
			tw.WriteHeader(&tar.Header{Name: tt.entry, Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
			tw.Write([]byte("x"))
			tw.Close()
			if err := unpack(&b, t.TempDir()); err == nil {
				t.Errorf("entry %q unpacked; want it refused", tt.entry)
			}
		})
	}
}

func FuzzParseChecksum(f *testing.F) {
	for _, s := range []string{"", "sha256:" + hex.EncodeToString(make([]byte, 32)), "sha1:abc", "md5:00", "sha512:", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, want, err := ParseChecksum(s)
		if err != nil || s == "" {
			return
		}
		if h == nil || len(want) != 2*h.Size() {
			t.Fatalf("ParseChecksum(%q) accepted a digest of %d hex digits", s, len(want))
		}
	})
}
