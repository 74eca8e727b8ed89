// Command fleet-testimage gives shell scripts (scripts/demo.sh) the tiny QEMU guest that the
// provider's end-to-end tests boot, and the repository server such guests clone from.
//
//	fleet-testimage box -out FILE.box [-chef-solo BIN]
//
// builds the guest with qemu/imagebuild (cached; see its package documentation), packs it as a
// QEMU box (box.qcow2, vmlinuz, initrd.img, cmdline) into FILE.box and prints shell
// assignments: BOX_USER, BOX_KEY (the private key's path), BOX_SHA256 and IMAGE_KEY.
//
//	fleet-testimage serve -dir DIR -port-file FILE
//
// serves DIR over HTTP on a free 127.0.0.1 port (guests reach it as a host service of their
// pool, network.host_services, at 127.0.0.1 on the same port), writes the port to FILE once listening, and stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fleet-agent/fleet/qemu"
	"github.com/fleet-agent/fleet/qemu/imagebuild"
	"github.com/fleet-agent/fleet/reconcile/boxcache"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet-testimage:", err)
		os.Exit(1)
	}
}

// run dispatches the subcommand in args.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: fleet-testimage box|serve [flags]")
	}
	switch args[0] {
	case "box":
		fs := flag.NewFlagSet("box", flag.ContinueOnError)
		fs.SetOutput(stderr)
		out := fs.String("out", "", "the box file to write")
		chef := fs.String("chef-solo", "", "a static binary installed as the guest's /usr/bin/chef-solo")
		verbose := fs.Bool("v", false, "print the image build's steps on stderr")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *out == "" {
			return errors.New("box: -out is required")
		}
		var log io.Writer
		if *verbose {
			log = stderr
		}
		return buildBox(ctx, *out, *chef, log, stdout)
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(stderr)
		dir := fs.String("dir", "", "the folder to serve")
		portFile := fs.String("port-file", "", "where to write the port once listening")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *dir == "" || *portFile == "" {
			return errors.New("serve: -dir and -port-file are required")
		}
		return serve(ctx, *dir, *portFile)
	default:
		return fmt.Errorf("unknown subcommand %q: want box or serve", args[0])
	}
}

// buildBox builds (or finds cached) the guest image, packs it into out and prints the box's
// facts as shell assignments on stdout.
func buildBox(ctx context.Context, out, chef string, log, stdout io.Writer) error {
	if m := imagebuild.Missing(); len(m) > 0 {
		return fmt.Errorf("image build tools missing (scripts/qemu-deps.sh installs them): %v", m)
	}
	opts := imagebuild.Options{Log: log}
	if chef != "" {
		opts.Extra = map[string]imagebuild.File{"/usr/bin/chef-solo": {Src: chef}}
	}
	img, err := imagebuild.Build(ctx, opts)
	if err != nil {
		return fmt.Errorf("build image: %w", err)
	}
	sum, err := packBox(img, out)
	if err != nil {
		return fmt.Errorf("pack box %s: %w", out, err)
	}
	for _, kv := range [][2]string{{"BOX_USER", img.User}, {"BOX_KEY", img.PrivateKey}, {"BOX_SHA256", sum}, {"IMAGE_KEY", img.Key}} {
		fmt.Fprintf(stdout, "%s=%s\n", kv[0], shellQuote(kv[1]))
	}
	return nil
}

// packBox writes img as a QEMU box to out and returns the box file's hex sha256.
func packBox(img *imagebuild.Image, out string) (string, error) {
	dir, err := os.MkdirTemp(filepath.Dir(out), ".box-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	for src, dst := range map[string]string{img.Disk: qemu.BoxDisk, img.Kernel: qemu.BoxKernel, img.Initrd: qemu.BoxInitrd} {
		if err := copyFile(src, filepath.Join(dir, dst)); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, qemu.BoxCmdline), []byte(img.Cmdline+"\n"), 0o644); err != nil {
		return "", err
	}
	f, err := os.Create(out)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if err := boxcache.Pack(io.MultiWriter(f, h), dir); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// serve serves dir on a free loopback port until ctx ends.
func serve(ctx context.Context, dir, portFile string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	tmp := portFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(port+"\n"), 0o644); err != nil {
		ln.Close()
		return fmt.Errorf("write port file: %w", err)
	}
	if err := os.Rename(tmp, portFile); err != nil {
		ln.Close()
		return fmt.Errorf("write port file: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w", dir, err)
	case <-ctx.Done():
	}
	srv.Close()
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", dir, err)
	}
	return nil
}
