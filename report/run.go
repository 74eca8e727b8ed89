// This file is the delivery side of a Reporter: Run with its senders, one
// HTTP attempt, backoff with jitter, and Close's flush within a deadline.
// A sender holds one event of one run at a time and retries it until it is
// delivered, refused or Run stops, so each run's events arrive in order.

package report

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// ErrRunning is returned by a second call of Run.
var ErrRunning = errors.New("report: already running")

// Run delivers events until ctx ends or Close has flushed, then returns
// nil. To flush on shutdown call Close before cancelling ctx. Run after
// Close returns at once: Close delivers by itself when Run is not running.
func (r *Reporter) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	if r.running {
		r.mu.Unlock()
		return ErrRunning
	}
	r.running = true
	r.mu.Unlock()
	r.run(ctx)
	return nil
}

// run is Run once the reporter is marked running; it closes r.done.
func (r *Reporter) run(ctx context.Context) {
	defer close(r.done)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-r.stop:
			cancel()
		case <-ctx.Done():
		}
	})
	wg.Go(func() { r.batchLoop(ctx) })
	for range r.cfg.Senders {
		wg.Go(func() { r.sendLoop(ctx) })
	}
	wg.Wait()
}

// Close stops accepting events, cuts pending log output into batches and
// waits until everything queued is delivered, ctx ends or Run returns;
// when Run is not running, Close delivers by itself. Then it stops Run and
// waits for it. It returns an error if events were left undelivered. Only
// the first call does anything.
func (r *Reporter) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	for jobID, ru := range r.runs {
		r.sealAll(jobID, ru)
	}
	var drained chan struct{}
	if r.q.len() > 0 || r.inflight > 0 {
		r.drained = make(chan struct{})
		drained = r.drained
	}
	selfRun := !r.running
	r.running = true
	r.mu.Unlock()

	if selfRun {
		go r.run(ctx) // waited for through r.done below
	}
	if drained != nil {
		signal(r.wake)
		select {
		case <-drained:
		case <-ctx.Done():
		case <-r.done:
		}
	}
	close(r.stop)
	<-r.done
	r.mu.Lock()
	left := r.q.len()
	r.mu.Unlock()
	if left > 0 {
		r.log.Warn("report_undelivered", "events", left)
		cause := ctx.Err()
		if cause == nil {
			cause = context.Canceled // Run's context ended first
		}
		return r.errorf("close: %d events undelivered: %w", left, cause)
	}
	return nil
}

// sendLoop delivers one event at a time until ctx ends.
func (r *Reporter) sendLoop(ctx context.Context) {
	for ctx.Err() == nil {
		if it := r.take(); it != nil {
			r.deliver(ctx, it)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		}
	}
}

func (r *Reporter) take() *item {
	r.mu.Lock()
	defer r.mu.Unlock()
	it := r.q.take()
	if it != nil {
		r.inflight++
		if r.q.len() > 0 {
			signal(r.wake) // another sender may take the next run's event
		}
	}
	return it
}

// outcome is how one event's delivery ended.
type outcome int

const (
	delivered outcome = iota
	rejected
	interrupted
)

// deliver sends it until the receiver accepts or refuses it, or ctx ends.
func (r *Reporter) deliver(ctx context.Context, it *item) {
	body := it.encode()
	for {
		status, err := r.post(ctx, it, body)
		switch {
		case err == nil:
			r.settle(it, delivered)
			return
		case ctx.Err() != nil:
			r.settle(it, interrupted)
			return
		case status != 0 && !retryable(status):
			r.log.Error("report_event_rejected", "job_id", it.jobID, "event", it.kind, "seq", it.seq,
				"status", status)
			r.settle(it, rejected)
			return
		}
		it.tries++
		wait := backoff(r.cfg.MinBackoff, r.cfg.MaxBackoff, it.tries)
		r.mu.Lock()
		r.stats.Retried++
		r.mu.Unlock()
		r.log.Warn("report_delivery_failed", "job_id", it.jobID, "event", it.kind, "seq", it.seq,
			"tries", it.tries, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			r.settle(it, interrupted)
			return
		case <-t.C:
		}
	}
}

// settle ends the delivery of it. Interrupted events go back to the head
// of the queue so that Close can count them.
func (r *Reporter) settle(it *item, o outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inflight--
	switch o {
	case delivered:
		r.stats.Delivered++
		if it.dropped > 0 {
			r.log.Info("report_drops_reported", "job_id", it.jobID, "dropped", it.dropped)
		}
		r.q.done(it)
	case rejected:
		r.stats.Rejected++
		r.q.done(it)
	case interrupted:
		r.countDrops(it.jobID, r.q.putBack(it))
	}
	if r.drained != nil && r.q.len() == 0 && r.inflight == 0 {
		close(r.drained)
		r.drained = nil
	}
	signal(r.wake) // the run's next event is ready now
}

// post makes one delivery attempt. It returns the response status (0 when
// there was none) and an error unless the receiver accepted the event.
// Errors never contain the URL.
func (r *Reporter) post(ctx context.Context, it *item, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.target.String(), bytes.NewReader(body))
	if err != nil {
		return 0, r.errorf("new request: %w", unwrapURLError(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "fleet-agent")
	req.Header.Set(EventHeader, it.kind)
	req.Header.Set(DeliveryHeader, it.runID+"."+strconv.FormatInt(it.seq, 10))
	if r.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.Token)
	}
	if r.key != nil {
		req.Header.Set(SignatureHeader, Sign(r.key, body))
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return 0, r.errorf("post %s: %w", it.kind, unwrapURLError(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, r.errorf("post %s: receiver answered %d", it.kind, resp.StatusCode)
}

// unwrapURLError strips the *url.Error layer, whose text quotes the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryable reports whether a status may succeed on another attempt.
func retryable(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}

// backoff returns the wait before attempt tries+1: lo doubled per failed
// attempt, capped at hi, of which a random half is jitter.
func backoff(lo, hi time.Duration, tries int) time.Duration {
	d := lo
	for i := 1; i < tries && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	half := d / 2
	return half + rand.N(half+1)
}
