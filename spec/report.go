// The `report "http"` blocks: the CI applications every job's life is pushed to over HTTP
// (package report). Several receivers may be declared; each block's credentials stay inside
// its Report value, which never prints them (String, GoString), and no diagnostic quotes them.
package spec

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// ReportHTTP is the only report kind so far: the label of `report "http" { ... }`.
const ReportHTTP = "http"

// Defaults of a report block's limits; they equal package report's defaults (a daemon test
// checks that they stay equal), so a block that leaves them out behaves like report.Config's
// zero values.
const (
	DefaultReportQueueEvents    = 1024
	DefaultReportQueueBytes     = 16 << 20
	DefaultReportBatchBytes     = 64 << 10
	DefaultReportBatchInterval  = time.Second
	DefaultReportRequestTimeout = 10 * time.Second
	DefaultReportMinBackoff     = 500 * time.Millisecond
	DefaultReportMaxBackoff     = 30 * time.Second
	DefaultReportSenders        = 4
)

var reportSchema = &blockSchema{
	attrs: []string{"url", "token", "secret", "queue_events", "queue_bytes", "batch_bytes",
		"batch_interval", "request_timeout", "min_backoff", "max_backoff", "senders"},
	required: []string{"url"},
}

// Report is one `report "http"` block: a receiver of job events. Token and Secret are
// credentials: String and GoString leave them out, and so must anything that prints a Report.
type Report struct {
	Kind   string // the block label; always ReportHTTP in a loaded fleet
	URL    string // required; http:// or https:// with a host; may hold user:password
	Token  string // sent as "Authorization: Bearer <token>"; empty: none
	Secret string // HMAC-SHA256 signing key; empty: Token, else the URL's password

	QueueEvents    int           // events waiting per receiver; default 1024; 1..1000000
	QueueBytes     int64         // log bytes waiting per receiver; default 16MiB
	BatchBytes     int64         // most log bytes in one log event; default 64KiB; at most QueueBytes
	BatchInterval  time.Duration // longest log output waits before it is sent; default 1s
	RequestTimeout time.Duration // bound on one delivery attempt; default 10s
	MinBackoff     time.Duration // first wait between attempts; default 500ms
	MaxBackoff     time.Duration // longest wait between attempts; default 30s; at least MinBackoff
	Senders        int           // job runs delivered concurrently; default 4; 1..64

	// DeclRange is the `report "http"` header, for diagnostics about the block.
	DeclRange hcl.Range
}

// RedactedURL returns the URL without user information and with any query replaced by
// "redacted", fit for logs, status output and diagnostics.
func (r Report) RedactedURL() string { return redactURL(r.URL) }

// String describes r without credentials.
func (r Report) String() string {
	return fmt.Sprintf("report %q %s (token: %t)", r.Kind, r.RedactedURL(), r.Token != "")
}

// GoString keeps %#v from printing the credentials field by field.
func (r Report) GoString() string { return "spec.Report{" + r.String() + "}" }

// redactURL hides user information and the query of s; unparsable text is hidden whole.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable url)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "redacted"
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// report decodes one report block; nil when its kind is unknown.
func (d *decoder) report(n *node) *Report {
	if n.labels[0] != ReportHTTP {
		d.errorf(n.labelRanges[0], "Unsupported report kind", "report %q is not known; write report %q { url = \"https://ci.example.org/fleet/events\" }.",
			n.labels[0], ReportHTTP)
		return nil
	}
	r := &Report{Kind: ReportHTTP, DeclRange: n.defRange}
	var a *hcl.Attribute
	// Diagnostics about url, token and secret sit on the block header: a diagnostic prints the
	// source line it points at, and those lines may hold credentials.
	r.URL, a = d.str(n, "url", "")
	if a != nil {
		if err := checkReportURL(r.URL); err != nil {
			d.errorf(n.defRange, "Invalid report URL", "url (line %d): %s.", a.Range.Start.Line, err)
		}
	}
	r.Token, a = d.str(n, "token", "")
	d.checkCredential(n, a, r.Token)
	r.Secret, a = d.str(n, "secret", "")
	d.checkCredential(n, a, r.Secret)

	r.QueueEvents, a = d.integer(n, "queue_events", DefaultReportQueueEvents)
	d.bounded(a, r.QueueEvents, 1, 1000000, "Invalid queue_events", "")
	r.QueueBytes = d.size(n, "queue_bytes", DefaultReportQueueBytes)
	r.BatchBytes = d.size(n, "batch_bytes", DefaultReportBatchBytes)
	for _, s := range []struct {
		name string
		v    int64
	}{{"queue_bytes", r.QueueBytes}, {"batch_bytes", r.BatchBytes}} {
		if a := n.attrs[s.name]; a != nil && s.v == 0 {
			d.errorf(a.Expr.Range(), "Invalid size", "%s must be larger than zero, like \"64KiB\".", s.name)
		}
	}
	if a := n.attrs["batch_bytes"]; a != nil && r.BatchBytes > r.QueueBytes {
		d.errorf(a.Expr.Range(), "Batch larger than queue", "batch_bytes (%d) cannot exceed queue_bytes (%d); lower it or raise queue_bytes.",
			r.BatchBytes, r.QueueBytes)
	}
	r.BatchInterval = d.duration(n, "batch_interval", DefaultReportBatchInterval)
	r.RequestTimeout = d.duration(n, "request_timeout", DefaultReportRequestTimeout)
	r.MinBackoff = d.duration(n, "min_backoff", DefaultReportMinBackoff)
	r.MaxBackoff = d.duration(n, "max_backoff", DefaultReportMaxBackoff)
	if r.MaxBackoff < r.MinBackoff {
		rng := n.defRange
		if a := n.attrs["max_backoff"]; a != nil {
			rng = a.Expr.Range()
		}
		d.errorf(rng, "Backoff range reversed", "max_backoff (%s) is shorter than min_backoff (%s); the wait doubles from min_backoff up to max_backoff.",
			r.MaxBackoff, r.MinBackoff)
	}
	r.Senders, a = d.integer(n, "senders", DefaultReportSenders)
	d.bounded(a, r.Senders, 1, 64, "Invalid senders", "")
	return r
}

// checkCredential rejects a token or secret that cannot travel in a header, without quoting it
// or pointing at the line that holds it.
func (d *decoder) checkCredential(n *node, a *hcl.Attribute, v string) {
	if a == nil {
		return
	}
	if strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		d.errorf(n.defRange, "Invalid "+a.Name, "%s (line %d) holds a control character, such as the newline at the end of a file read with file(); it is sent in a header, so remove it.",
			a.Name, a.Range.Start.Line)
	}
}

// checkReportURL accepts http and https URLs with a host. Its errors never quote the URL's
// user information or query, which may hold credentials.
func checkReportURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("the url is not a URL; write e.g. %q", "https://ci.example.org/fleet/events")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q must be an http:// or https:// URL", redactURL(s))
	case u.Host == "":
		return fmt.Errorf("%q has no host; write %s://host/path", redactURL(s), u.Scheme)
	}
	return nil
}

// checkReports reports every receiver declared twice: the same url would get every event twice.
func checkReports(reports []*Report) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]*Report{}
	for _, r := range reports {
		if r.URL == "" {
			continue
		}
		if first, dup := seen[r.URL]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate report",
				Detail: fmt.Sprintf("A report to %s was already declared at %s; it would receive every event twice, so remove one.",
					r.RedactedURL(), first.DeclRange),
				Subject: r.DeclRange.Ptr(),
			})
			continue
		}
		seen[r.URL] = r
	}
	return diags
}
