package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestShellQuote: a quoted value reads back unchanged through a real POSIX shell, whatever
// quotes, spaces or expansions it holds.
func TestShellQuote(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	for _, tc := range []struct{ name, in string }{
		{"plain path", "/var/tmp/fleet-qemu-cache/image-1/id_ed25519"},
		{"empty", ""},
		{"single quote", "it's"},
		{"spaces and expansions", `a b $HOME $(id) "x" \n`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(sh, "-c", "V="+shellQuote(tc.in)+`; printf '%s' "$V"`).Output()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.in, string(out)); diff != "" {
				t.Errorf("read back through sh (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRunRejectsBadUsage: a missing or unknown subcommand, or a missing required flag, is an
// error naming what is wrong, before anything is built or served.
func TestRunRejectsBadUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", nil, "usage"},
		{"unknown subcommand", []string{"frobnicate"}, `unknown subcommand "frobnicate"`},
		{"box without out", []string{"box"}, "-out is required"},
		{"serve without port file", []string{"serve", "-dir", "."}, "-port-file are required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(t.Context(), tc.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%q) = %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
}

// TestServe: serve writes its loopback port once listening, serves the folder's files (the
// guests' archive.tar and release marks, 404 until made), and returns nil when its context ends.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "calc-main"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "calc-main", "archive.tar"), []byte("tar bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	portFile := filepath.Join(t.TempDir(), "port")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, dir, portFile) }()
	t.Cleanup(func() { cancel(); <-done })

	var port string
	deadline := time.Now().Add(30 * time.Second)
	for port == "" {
		if b, err := os.ReadFile(portFile); err == nil {
			port = strings.TrimSpace(string(b))
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve returned before listening: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no port file within 30s")
		}
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://127.0.0.1:" + port + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, path string
		code       int
		body       string
	}{
		{"a repository archive", "/calc-main/archive.tar", 200, "tar bytes"},
		{"a release mark not yet made", "/release/checks", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(tc.path)
			if code != tc.code || (tc.body != "" && body != tc.body) {
				t.Errorf("GET %s = %d %q, want %d %q", tc.path, code, body, tc.code, tc.body)
			}
		})
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve after cancel = %v, want nil", err)
	}
	done <- nil // for the cleanup
}
