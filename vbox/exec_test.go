package vbox

// Tests of the real exec seam. The test binary itself plays VBoxManage when VBOX_TEST_HELPER
// is set, so no fake script or shell is needed.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv("VBOX_TEST_HELPER"); mode != "" {
		os.Exit(helperMain(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helperMain is the fake VBoxManage: it echoes its argv and locale on stdout.
func helperMain(mode string, args []string) int {
	switch mode {
	case "echo":
		fmt.Printf("args=%s\nLC_ALL=%s\nVBOXSIM_HOME=%s\n", strings.Join(args, "|"), os.Getenv("LC_ALL"), os.Getenv("VBOXSIM_HOME"))
		fmt.Fprint(os.Stderr, "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n")
		return 0
	case "notfound":
		fmt.Fprint(os.Stderr, "VBoxManage: error: Could not find a registered machine named 'x'\n"+
			"VBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component VirtualBoxWrap, interface IVirtualBox, callee nsISupports\n")
		return 1
	case "hang":
		time.Sleep(time.Hour) // a VBoxManage that never returns; the driver must kill it
	}
	return 3
}

func helperDriver(t *testing.T, mode string, cfg Config) (*Driver, *bytes.Buffer) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg.Manage = exe
	cfg.Env = append(cfg.Env, "VBOX_TEST_HELPER="+mode)
	return New(cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))), &logs
}

func TestExecSeam(t *testing.T) {
	ctx := context.Background()
	t.Run("argv, forced locale, extra env, progress and debug log", func(t *testing.T) {
		d, logs := helperDriver(t, "echo", Config{Env: []string{"LC_ALL=de_DE.UTF-8", "VBOXSIM_HOME=/sim"}})
		var steps []int
		res, err := d.do(ctx, call{args: []string{"import", "/b/box ovf"}, progress: func(p int) { steps = append(steps, p) }})
		if err != nil {
			t.Fatal(err)
		}
		want := "args=--nologo|import|/b/box ovf\nLC_ALL=C\nVBOXSIM_HOME=/sim\n"
		if diff := cmp.Diff(want, string(res.stdout)); diff != "" {
			t.Errorf("stdout (-want +got):\n%s", diff)
		}
		if len(steps) != 11 || steps[10] != 100 {
			t.Errorf("progress = %v, want 0..100 in 11 steps", steps)
		}
		if !strings.Contains(logs.String(), `msg="vboxmanage call" args="[import /b/box ovf]"`) {
			t.Errorf("debug log lacks the argv:\n%s", logs.String())
		}
	})
	t.Run("version goes without --nologo", func(t *testing.T) {
		d, _ := helperDriver(t, "echo", Config{})
		res, err := d.do(ctx, call{args: []string{"--version"}})
		if err != nil || !strings.HasPrefix(string(res.stdout), "args=--version\n") {
			t.Fatalf("do = %q, %v", res.stdout, err)
		}
	})
	t.Run("exit 1 is classified", func(t *testing.T) {
		d, _ := helperDriver(t, "notfound", Config{})
		_, err := d.Info(ctx, "x")
		var ce *CmdError
		if !errors.Is(err, ErrNotFound) || !errors.As(err, &ce) || ce.ExitCode != 1 {
			t.Fatalf("Info = %v, want a not-found *CmdError with exit 1", err)
		}
	})
	t.Run("missing binary is not installed", func(t *testing.T) {
		d := New(Config{Manage: filepath.Join(t.TempDir(), "VBoxManage")}, nil)
		if _, err := d.List(ctx); !errors.Is(err, ErrNotInstalled) {
			t.Fatalf("List = %v, want ErrNotInstalled", err)
		}
		d = New(Config{Manage: "no-such-VBoxManage-on-path"}, nil)
		if _, err := d.List(ctx); !errors.Is(err, ErrNotInstalled) {
			t.Fatalf("List = %v, want ErrNotInstalled", err)
		}
	})
	t.Run("a hanging call is killed at the call timeout", func(t *testing.T) {
		d, _ := helperDriver(t, "hang", Config{CallTimeout: 100 * time.Millisecond})
		if _, err := d.List(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("List = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("a cancelled caller kills the call", func(t *testing.T) {
		d, _ := helperDriver(t, "hang", Config{})
		ctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(50*time.Millisecond, cancel)
		if _, err := d.List(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("List = %v, want context.Canceled", err)
		}
	})
}
