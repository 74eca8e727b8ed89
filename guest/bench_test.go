package guest

import (
	"bytes"
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// BenchmarkDialRunTrue measures a whole conversation: connect, handshake,
// authenticate, run `true`, close.
func BenchmarkDialRunTrue(b *testing.B) {
	_, cfg := startSSHD(b)
	ctx := context.Background()
	for b.Loop() {
		c, err := Dial(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Run(ctx, "true", nil, nil); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkRunTrue measures one command on an open connection.
func BenchmarkRunTrue(b *testing.B) {
	_, cfg := startSSHD(b)
	c := dial(b, cfg)
	ctx := context.Background()
	for b.Loop() {
		if err := c.Run(ctx, "true", nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpload measures upload throughput of an 8 MiB file (MB/s).
func BenchmarkUpload(b *testing.B) {
	_, cfg := startSSHD(b)
	c := dial(b, cfg)
	data := make([]byte, 8<<20)
	if _, err := rand.Read(data); err != nil {
		b.Fatal(err)
	}
	dst := filepath.Join(b.TempDir(), "upload.bin")
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := c.Upload(ctx, dst, 0o644, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSimulatorRunTrue measures one command against the simulator's
// guest, where the server side costs little: it shows the communicator's
// own overhead (wrapper, session, exit status).
func BenchmarkSimulatorRunTrue(b *testing.B) {
	addr, _ := simVM(b)
	ctx := context.Background()
	c, err := WaitForSSH(ctx, Config{
		VM: "vm", Addr: addr, User: "vagrant",
		Signers: []ssh.Signer{VagrantInsecureSigner()}, TrustOnFirstUse: true,
	}, 2*time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for b.Loop() {
		if err := c.Run(ctx, "true", nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSimulatorUpload measures upload throughput to the simulator's
// guest (MB/s), 8 MiB per upload.
func BenchmarkSimulatorUpload(b *testing.B) {
	addr, _ := simVM(b)
	ctx := context.Background()
	c, err := WaitForSSH(ctx, Config{
		VM: "vm", Addr: addr, User: "vagrant",
		Signers: []ssh.Signer{VagrantInsecureSigner()}, TrustOnFirstUse: true,
	}, 2*time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, 8<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := c.Upload(ctx, "upload.bin", 0o644, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
