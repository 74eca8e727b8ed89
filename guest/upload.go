package guest

// This file uploads files and tar streams over exec sessions: the bytes go
// to the remote command's stdin on the same connection, so no scp or sftp
// is needed in the guest (the simulator has neither).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// Upload writes r to the guest file at dst (absolute, or relative to the
// user's home) with mode's permission bits, creating missing parent
// directories. The data lands in a temporary file next to dst that is
// checked for length and then renamed over dst, so dst is either the old
// file or the complete new one, even if the connection dies mid-upload.
func (c *Client) Upload(ctx context.Context, dst string, mode fs.FileMode, r io.Reader) error {
	if err := c.upload(ctx, dst, mode, r); err != nil {
		return fmt.Errorf("upload to vm %s %s: %w", c.cfg.VM, dst, err)
	}
	return nil
}

func (c *Client) upload(ctx context.Context, dst string, mode fs.FileMode, r io.Reader) error {
	if dst == "" || strings.HasSuffix(dst, "/") {
		return errors.New("destination is not a file path")
	}
	tmp := dst + ".fleet-upload-" + runID()
	qtmp := shellQuote(tmp)
	var n int64
	feed := func(w io.WriteCloser) error {
		var err error
		n, err = copyInput(w, r)
		return err
	}
	stderr := &limitedBuffer{max: 4096}
	write := "mkdir -p " + shellQuote(path.Dir(dst)) + " && cat > " + qtmp
	if err := c.run(ctx, write, feed, nil, stderr); err != nil {
		c.removeBestEffort(ctx, tmp)
		return withStderr(err, stderr)
	}
	commit := "[ $(wc -c < " + qtmp + ") -eq " + strconv.FormatInt(n, 10) + " ] && " +
		"chmod " + strconv.FormatUint(uint64(mode.Perm()), 8) + " " + qtmp + " && " +
		"mv -f " + qtmp + " " + shellQuote(dst) + " || { rm -f " + qtmp + "; exit 1; }"
	stderr.Reset()
	if err := c.run(ctx, commit, nil, nil, stderr); err != nil {
		c.removeBestEffort(ctx, tmp)
		return withStderr(err, stderr)
	}
	return nil
}

// UploadTar extracts the tar stream r into the guest directory dir,
// creating it when missing. Unlike Upload it is not atomic: a failed
// stream can leave part of the archive extracted, so callers extract into a
// fresh directory.
func (c *Client) UploadTar(ctx context.Context, dir string, r io.Reader) error {
	feed := func(w io.WriteCloser) error {
		_, err := copyInput(w, r)
		return err
	}
	stderr := &limitedBuffer{max: 4096}
	cmd := "mkdir -p " + shellQuote(dir) + " && tar -x -f - -C " + shellQuote(dir)
	if err := c.run(ctx, cmd, feed, nil, stderr); err != nil {
		return fmt.Errorf("upload tar to vm %s %s: %w", c.cfg.VM, dir, withStderr(err, stderr))
	}
	return nil
}

// removeBestEffort deletes a temporary file after a failed upload, even
// when ctx was cancelled; a dead connection makes it a no-op.
func (c *Client) removeBestEffort(ctx context.Context, file string) {
	if c.lost() != nil {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.DialTimeout)
	defer cancel()
	_ = c.run(rctx, "rm -f "+shellQuote(file), nil, nil, nil)
}

// withStderr appends what the remote command said to an exit error, so an
// error such as "Permission denied" reaches the caller.
func withStderr(err error, stderr *limitedBuffer) error {
	var ee *ExitError
	msg := strings.TrimSpace(stderr.String())
	if !errors.As(err, &ee) || msg == "" {
		return err
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// shellQuote quotes s for a POSIX shell: the result is one word whose value
// is exactly s.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// limitedBuffer keeps the first max bytes written to it and drops the rest
// while reporting success, so a chatty command never blocks or fails.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
