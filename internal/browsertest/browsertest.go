// Package browsertest runs a real headless Chromium for tests of the web
// dashboard (chromedp), with the checks every browser test wants: no page
// opens a dialog, throws or logs a console error, and a screenshot of each
// page is kept for a person to look at.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Start starts a headless Debian chromium with a fresh profile, bounded by
// limit, or skips the test when it is not installed (scripts/test-deps.sh
// installs it). The browser ends with the test.
func Start(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (scripts/test-deps.sh installs Debian's chromium): skipping the browser test")
	}
	dir, err := os.MkdirTemp("", "fleet-web-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	base, stop := context.WithTimeout(context.Background(), limit)
	alloc, cancelAlloc := chromedp.NewExecAllocator(base,
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(dir))
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		stop()
		// Chromium's children may still write into the profile briefly.
		for range 50 {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return ctx
}

// Trouble records every JavaScript dialog, uncaught exception and
// console error of the page: markup smuggled into a log or payload must run
// nothing.
type Trouble struct {
	mu   sync.Mutex
	seen []string
	wg   sync.WaitGroup // the goroutines that dismiss dialogs
}

// Command runs one DevTools command as a chromedp action.
func Command[P any](c cdp.Command[P, cdp.Empty], params P) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, c, params)
		return chromedp.Void{}, err
	}
}

// WatchTrouble starts recording the trouble of the tab ctx.
func WatchTrouble(t *testing.T, ctx context.Context) *Trouble {
	b := &Trouble{}
	err := chromedp.Listen(ctx, func(ev any) {
		var what string
		switch e := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			what = "dialog: " + e.Message
			// A dialog blocks the page: dismiss it, outside the event loop.
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				_ = chromedp.Do(ctx, Command(page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false}))
			}()
		case *runtime.EventExceptionThrown:
			what = "exception: " + e.ExceptionDetails.Text
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				what = "console error"
			}
		}
		if what != "" {
			b.mu.Lock()
			b.seen = append(b.seen, what)
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.wg.Wait)
	return b
}

// Check fails the test if anything was recorded.
func (b *Trouble) Check(t *testing.T, where string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.seen) > 0 {
		t.Errorf("%s: the page ran script or failed: %q", where, b.seen)
	}
}

// Screenshots saves full-page PNGs where a person can look at them after the
// run: $TMPDIR/fleet-web-screenshots-*/ (the path is logged).
type Screenshots struct{ dir string }

// NewScreenshots makes the directory and logs its path.
func NewScreenshots(t *testing.T) *Screenshots {
	dir, err := os.MkdirTemp("", "fleet-web-screenshots-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of each page: %s", dir)
	return &Screenshots{dir}
}

// Take saves the current page as name.png.
func (s *Screenshots) Take(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(s.dir, name+".png"), png, 0o644); err != nil {
		t.Error(err)
	}
}
