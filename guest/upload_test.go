package guest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

func TestUploadLandsTheExactBytesWithMode(t *testing.T) {
	_, cfg := startSSHD(t)
	c := dial(t, cfg)
	dir := t.TempDir()
	big := make([]byte, 20<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dst  string
		mode fs.FileMode
		data []byte
	}{
		{name: "20 MB file", dst: filepath.Join(dir, "big.bin"), mode: 0o644, data: big},
		{name: "empty file", dst: filepath.Join(dir, "empty"), mode: 0o600, data: nil},
		{name: "executable in a new nested dir", dst: filepath.Join(dir, "a", "b c", "run.sh"), mode: 0o755, data: []byte("#!/bin/sh\necho hi\n")},
		{name: "quote in the name", dst: filepath.Join(dir, "it's.txt"), mode: 0o640, data: []byte("x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.Upload(context.Background(), tt.dst, tt.mode, bytes.NewReader(tt.data)); err != nil {
				t.Fatalf("upload: %v", err)
			}
			got, err := os.ReadFile(tt.dst)
			if err != nil {
				t.Fatalf("read uploaded file: %v", err)
			}
			if sha256.Sum256(got) != sha256.Sum256(tt.data) {
				t.Errorf("uploaded %d bytes, hash differs from the %d bytes sent", len(got), len(tt.data))
			}
			fi, err := os.Stat(tt.dst)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tt.mode {
				t.Errorf("mode = %04o, want %04o", fi.Mode().Perm(), tt.mode)
			}
		})
	}
	assertNoTempFiles(t, dir)
}

func TestUploadFailureKeepsTheOldFile(t *testing.T) {
	_, cfg := startSSHD(t)
	c := dial(t, cfg)
	dir := t.TempDir()
	dst := filepath.Join(dir, "config.json")
	if err := os.WriteFile(dst, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := errors.New("source broke")
	src := io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("new"), 100000)), iotest.ErrReader(broken))
	err := c.Upload(context.Background(), dst, 0o644, src)
	if !errors.Is(err, broken) {
		t.Fatalf("Upload = %v, want the source's error", err)
	}
	got, _ := os.ReadFile(dst)
	if string(got) != "old" {
		t.Errorf("after a failed upload the file holds %d bytes, want the old content", len(got))
	}
	assertNoTempFiles(t, dir)
}

func TestUploadReportsTheGuestsError(t *testing.T) {
	_, cfg := startSSHD(t)
	c := dial(t, cfg)
	file := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The parent "directory" is a regular file, so mkdir -p fails.
	err := c.Upload(context.Background(), filepath.Join(file, "x"), 0o644, bytes.NewReader([]byte("data")))
	var ee *ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("Upload = %v, want an *ExitError", err)
	}
}

func TestUploadTarExtractsTheTree(t *testing.T) {
	_, cfg := startSSHD(t)
	c := dial(t, cfg)
	files := map[string]string{
		"cookbooks/git/metadata.rb":        "name 'git'\n",
		"cookbooks/git/recipes/default.rb": "package 'git'\n",
		"solo.rb":                          "cookbook_path '/tmp/chef/cookbooks'\n",
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range []string{"cookbooks/git/metadata.rb", "cookbooks/git/recipes/default.rb", "solo.rb"} {
		body := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "chef")
	if err := c.UploadTar(context.Background(), dst, &buf); err != nil {
		t.Fatalf("upload tar: %v", err)
	}
	got := map[string]string{}
	err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dst, p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(files, got); diff != "" {
		t.Errorf("extracted tree (-want +got):\n%s", diff)
	}
}

func TestUploadTarRejectsAGarbageStream(t *testing.T) {
	_, cfg := startSSHD(t)
	c := dial(t, cfg)
	err := c.UploadTar(context.Background(), t.TempDir(), bytes.NewReader(bytes.Repeat([]byte("not a tar "), 200)))
	var ee *ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("UploadTar of garbage = %v, want an *ExitError from tar", err)
	}
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(dir, "*.fleet-upload-*"))
	if len(left) > 0 {
		t.Errorf("temporary upload files left behind: %v", left)
	}
}
