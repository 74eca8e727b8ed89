// The ready marker: a file a worker holds from the moment it became ready, and the same text in
// its extradata, so the sandbox can prove after each rollback that it talks to the very VM (and
// disk state) that was made ready. The names match package sandbox's MarkerFile and KeyMarker.

package vboxprovider

import (
	"bytes"
	"context"
	"fmt"
	"io"
)

const (
	markerFile = ".fleet/ready" // sandbox.MarkerFile, relative to the build user's home
	keyMarker  = "fleet/marker" // sandbox.KeyMarker
)

// markerRunner is the part of a guest connection writeMarker needs.
type markerRunner interface {
	Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error
}

// writeMarker writes text (letters, digits, spaces and dashes only: a VM name and UUID) to the
// marker file in the guest.
func writeMarker(ctx context.Context, c markerRunner, text string) error {
	var stderr bytes.Buffer
	cmd := fmt.Sprintf("mkdir -p .fleet && printf '%%s\\n' '%s' > %s", text, markerFile)
	if err := c.Run(ctx, cmd, nil, &stderr); err != nil {
		return fmt.Errorf("write ready marker: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
