package qmp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeQEMU serves QMP on a unix socket: greeting, then one scripted reply per command. reply
// returns the lines to send for a request (events first, then the reply); nil sends nothing.
func fakeQEMU(t *testing.T, reply func(req map[string]any) []string) (string, *[]string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "qmp")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.Write([]byte(`{"QMP": {"version": {"qemu": {"major": 7}}, "capabilities": ["oob"]}}` + "\n"))
		sc := bufio.NewScanner(conn)
		for sc.Scan() {
			var req map[string]any
			json.Unmarshal(sc.Bytes(), &req)
			mu.Lock()
			seen = append(seen, sc.Text())
			mu.Unlock()
			if req["execute"] == "qmp_capabilities" {
				conn.Write([]byte(`{"return": {}}` + "\n"))
				continue
			}
			for _, l := range reply(req) {
				conn.Write([]byte(l + "\n"))
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		os.RemoveAll(dir)
	})
	return sock, &seen
}

func TestExecuteAndHMP(t *testing.T) {
	tests := []struct {
		name    string
		replies []string
		call    func(ctx context.Context, c *Client) (string, error)
		want    string
		wantErr any
	}{
		{"status skips events", []string{`{"event": "STOP", "timestamp": {}}`, `{"return": {"status": "paused", "running": false}}`},
			func(ctx context.Context, c *Client) (string, error) { return c.Status(ctx) }, "paused", nil},
		{"hmp output", []string{`{"return": ""}`},
			func(ctx context.Context, c *Client) (string, error) { return c.HMP(ctx, "savevm ready") }, "", nil},
		{"hmp failure text", []string{`{"return": "Error: Snapshot 'x' does not exist\r\n"}`},
			func(ctx context.Context, c *Client) (string, error) { return c.HMP(ctx, "loadvm x") }, "", new(*HMPError)},
		{"error reply", []string{`{"error": {"class": "GenericError", "desc": "no"}}`},
			func(ctx context.Context, c *Client) (string, error) { return c.Status(ctx) }, "", new(*Error)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock, _ := fakeQEMU(t, func(map[string]any) []string { return tt.replies })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := Dial(ctx, sock)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got, err := tt.call(ctx, c)
			switch target := tt.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if got != tt.want {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			case **HMPError:
				if !errors.As(err, target) {
					t.Errorf("err = %v, want *HMPError", err)
				}
			case **Error:
				if !errors.As(err, target) || (*target).Class != "GenericError" {
					t.Errorf("err = %v, want *Error GenericError", err)
				}
			}
		})
	}
}

func TestHMPSendsCommandLine(t *testing.T) {
	sock, seen := fakeQEMU(t, func(map[string]any) []string { return []string{`{"return": ""}`} })
	ctx := context.Background()
	c, err := Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.HMP(ctx, "loadvm ready"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	var got []map[string]any
	for _, l := range *seen {
		var m map[string]any
		json.Unmarshal([]byte(l), &m)
		got = append(got, m)
	}
	want := []map[string]any{
		{"execute": "qmp_capabilities"},
		{"execute": "human-monitor-command", "arguments": map[string]any{"command-line": "loadvm ready"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestCallEndsWithContext(t *testing.T) {
	sock, _ := fakeQEMU(t, func(map[string]any) []string { return nil }) // never answers
	c, err := Dial(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := c.Status(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Status on a silent QEMU after cancel = %v, want context.Canceled", err)
	}
}

func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{`{"QMP": {}}`, `{"return": {}}`, `{"error": {"class": "x", "desc": "y"}}`, `{"event": "STOP"}`, `[]`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err == nil && m.QMP == nil && m.Return == nil && m.Error == nil && m.Event == "" {
			t.Errorf("ParseMessage(%q) accepted an empty message", b)
		}
	})
}

func TestIsHMPFailure(t *testing.T) {
	tests := []struct {
		name, out string
		want      bool
	}{
		{"empty is success", "", false},
		{"error line", "Error: Device 'x' not found\r\n", true},
		{"missing snapshot", "Snapshot 'ready' does not exist in device 'virtio0'\r\n", true},
		{"info output", "List of snapshots present on all disks:\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsHMPFailure(tt.out); got != tt.want {
				t.Errorf("IsHMPFailure(%q) = %v, want %v", tt.out, got, tt.want)
			}
		})
	}
}
