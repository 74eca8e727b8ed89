// This file reads which TCP ports something on this host already listens on, from the kernel's
// socket tables, so the allocators never hand a VM a port another program (a Redis, an sshd, a
// second agent's simulator) holds. It observes; it never binds.

package ports

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
)

// procTCPFiles are the kernel's IPv4 and IPv6 TCP socket tables.
var procTCPFiles = []string{"/proc/net/tcp", "/proc/net/tcp6"}

// tcpListen is the st column of a socket in the LISTEN state.
const tcpListen = "0A"

// Listening is a Used source: the local ports of every listening TCP socket on the host, read
// from /proc/net/tcp and /proc/net/tcp6. On a system without those files it reports none.
func Listening(ctx context.Context) (map[int]bool, error) {
	used := map[int]bool{}
	for _, path := range procTCPFiles {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read listening ports: %w", err)
		}
		for _, p := range ParseProcNetTCP(b) {
			used[p] = true
		}
	}
	return used, nil
}

// ParseProcNetTCP returns the local ports of the LISTEN sockets in a /proc/net/tcp or tcp6
// table. Lines it cannot read are skipped: the table is the kernel's, and a port missed here is
// still guarded by the allocator's own bookkeeping.
func ParseProcNetTCP(table []byte) []int {
	var out []int
	sc := bufio.NewScanner(bytes.NewReader(table))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		// sl local_address rem_address st ...; the header line has "local_address" in f[1].
		if len(f) < 4 || string(f[3]) != tcpListen {
			continue
		}
		i := bytes.LastIndexByte(f[1], ':')
		if i < 0 {
			continue
		}
		p, err := strconv.ParseUint(string(f[1][i+1:]), 16, 16)
		if err != nil || p == 0 {
			continue
		}
		out = append(out, int(p))
	}
	return out
}
