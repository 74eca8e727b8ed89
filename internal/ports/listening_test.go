package ports

import (
	"context"
	"net"
	"runtime"
	"slices"
	"testing"
)

func TestParseProcNetTCPKeepsOnlyListeners(t *testing.T) {
	table := []byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1
   3: garbage
   4: 0100007F:ZZZZ 00000000:0000 0A
`)
	got := ParseProcNetTCP(table)
	want := []int{8080, 22} // the established socket on 0x9C40 is not a listener
	if !slices.Equal(got, want) {
		t.Errorf("ParseProcNetTCP = %v, want %v", got, want)
	}
}

func TestListeningSeesABoundPort(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/net/tcp")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	used, err := Listening(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !used[port] {
		t.Errorf("Listening does not report port %d, which a listener holds", port)
	}
}

func FuzzParseProcNetTCP(f *testing.F) {
	f.Add([]byte("0: 0100007F:1F90 00000000:0000 0A 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, p := range ParseProcNetTCP(b) {
			if p <= 0 || p > 65535 {
				t.Fatalf("port %d out of range", p)
			}
		}
	})
}
