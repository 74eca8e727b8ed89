package report

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/queue"
)

// TestDeliveriesAreSignedAndAuthorized checks, as a receiver would, every
// request's Authorization header and body signature for each way a config
// can carry credentials.
func TestDeliveriesAreSignedAndAuthorized(t *testing.T) {
	tests := []struct {
		name     string
		userinfo string // put into the receiver URL
		token    string
		secret   string
		wantKey  string // "" means unsigned
		wantAuth string
	}{
		{"token signs and authorizes", "", "t0ken", "", "t0ken", "Bearer t0ken"},
		{"separate secret signs", "", "t0ken", "s3cret", "s3cret", "Bearer t0ken"},
		{"url password: basic auth, signs", "ci:pw", "", "", "pw", "Basic " + base64.StdEncoding.EncodeToString([]byte("ci:pw"))},
		{"token wins over url user", "ci:pw", "t0ken", "", "t0ken", "Bearer t0ken"},
		{"nothing: unsigned, anonymous", "", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, nil)
			url := rc.srv.URL
			if tt.userinfo != "" {
				url = strings.Replace(url, "http://", "http://"+tt.userinfo+"@", 1)
			}
			cfg := fastConfig(url)
			cfg.Token, cfg.Secret = tt.token, tt.secret
			r := startReporter(t, cfg, nil)
			r.Received(testJob("job-1"))
			r.Log("job-1", []byte("hello\n"))
			r.Finished("job-1", Finish{Result: queue.StatePassed, Attempt: 1})
			rc.waitAccepted(t, 3)
			for _, req := range rc.requests() {
				if got := req.header.Get("Authorization"); got != tt.wantAuth {
					t.Errorf("%s: Authorization %q, want %q", req.event.Type, got, tt.wantAuth)
				}
				sig := req.header.Get(SignatureHeader)
				if tt.wantKey == "" {
					if sig != "" {
						t.Errorf("%s: signed %q, want no signature", req.event.Type, sig)
					}
					continue
				}
				if !Verify([]byte(tt.wantKey), req.body, sig) {
					t.Errorf("%s: signature %q does not verify with the expected key", req.event.Type, sig)
				}
				if Verify([]byte(tt.wantKey+"x"), req.body, sig) {
					t.Errorf("%s: signature verifies with a wrong key", req.event.Type)
				}
				if got, want := req.header.Get(EventHeader), req.event.Type; got != want {
					t.Errorf("%s header %q, want %q", EventHeader, got, want)
				}
				if got := req.header.Get("Content-Type"); got != "application/json" {
					t.Errorf("Content-Type %q", got)
				}
			}
		})
	}
}

func TestVerify(t *testing.T) {
	key := []byte("k")
	body := []byte(`{"type":"received"}`)
	good := Sign(key, body)
	tests := []struct {
		name   string
		body   []byte
		header string
		want   bool
	}{
		{"valid", body, good, true},
		{"body changed", []byte(`{"type":"finished"}`), good, false},
		{"no prefix", body, strings.TrimPrefix(good, "sha256="), false},
		{"upper-case hex", body, "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), true},
		{"truncated", body, good[:len(good)-2], false},
		{"not hex", body, "sha256=zz", false},
		{"empty", body, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(key, tt.body, tt.header); got != tt.want {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRetriesResendTheSameBytes proves a receiver can de-duplicate by the
// delivery header: every attempt of one event carries identical bytes.
func TestRetriesResendTheSameBytes(t *testing.T) {
	rc := newReceiver(t, func(n int) int {
		if n < 3 {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	r := startReporter(t, fastConfig(rc.srv.URL), nil)
	r.Received(testJob("job-1"))
	rc.waitAccepted(t, 1)
	reqs := rc.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 3 failures and 1 success", len(reqs))
	}
	for _, req := range reqs[1:] {
		if string(req.body) != string(reqs[0].body) ||
			req.header.Get(DeliveryHeader) != reqs[0].header.Get(DeliveryHeader) ||
			req.header.Get(SignatureHeader) != reqs[0].header.Get(SignatureHeader) {
			t.Errorf("retry differs from first attempt: %s %s", req.header.Get(DeliveryHeader), req.body)
		}
	}
	if want := reqs[0].event.RunID + ".1"; reqs[0].header.Get(DeliveryHeader) != want {
		t.Errorf("%s = %q, want %q", DeliveryHeader, reqs[0].header.Get(DeliveryHeader), want)
	}
}
