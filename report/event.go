// This file defines what goes on the wire: the JSON body of each event type
// (documented in docs/JOBS.md), the request headers, and the HMAC-SHA256
// body signature with its verification for receivers.

package report

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// Event types, the "type" field of every body and the EventHeader value.
const (
	TypeReceived = "received"
	TypeStarted  = "started"
	TypeLog      = "log"
	TypeFinished = "finished"
	TypeRequeued = "requeued"
	TypeCanceled = "canceled"
)

// Request headers set on every delivery besides Authorization and
// Content-Type.
const (
	// SignatureHeader carries "sha256=" and the lower-case hex
	// HMAC-SHA256 of the exact body bytes, keyed with Config.Secret.
	SignatureHeader = "X-Fleet-Signature-256"
	// EventHeader repeats the body's "type".
	EventHeader = "X-Fleet-Event"
	// DeliveryHeader is "<run_id>.<seq>", the same on every retry of one
	// event, so a receiver can discard duplicates without parsing the body.
	DeliveryHeader = "X-Fleet-Delivery"
)

const signaturePrefix = "sha256="

// Sign returns the SignatureHeader value for body under key.
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return signaturePrefix + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header is a valid SignatureHeader value for body
// under key. It compares in constant time.
func Verify(key, body []byte, header string) bool {
	hexSum, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// header is the part every body shares.
type header struct {
	Type  string    `json:"type"`
	JobID string    `json:"job_id"`
	RunID string    `json:"run_id"`
	Seq   int64     `json:"seq"`
	Time  time.Time `json:"time"`
	// Dropped counts events of this run (log batches, unless the
	// receiver was down very long) dropped just before this event
	// because the queue was full.
	Dropped int `json:"dropped,omitempty"`
}

type receivedBody struct {
	header
	Queue      string `json:"queue"`
	Attempt    int    `json:"attempt"`
	Repository string `json:"repository"`
	Commit     string `json:"commit"`
	Branch     string `json:"branch,omitempty"`
}

type startedBody struct {
	header
	Worker string `json:"worker"`
	Host   string `json:"host"`
	VM     string `json:"vm"`
	Image  string `json:"image"`
}

type logBody struct {
	header
	Offset   int64  `json:"offset"`
	Size     int    `json:"size"`
	Encoding string `json:"encoding,omitempty"`
	Data     string `json:"data"`
}

type durationsBody struct {
	QueuedMS int64 `json:"queued_ms"`
	RunMS    int64 `json:"run_ms"`
	TotalMS  int64 `json:"total_ms"`
}

type finishedBody struct {
	header
	Result    string        `json:"result"`
	ExitCode  int           `json:"exit_code"`
	Error     string        `json:"error,omitempty"`
	Attempt   int           `json:"attempt"`
	Durations durationsBody `json:"durations"`
	LogBytes  int64         `json:"log_bytes"`
}

type reasonBody struct {
	header
	Reason string `json:"reason,omitempty"`
}

// encodeLog fills the data fields of a log body: text as is, anything that
// is not valid UTF-8 as base64 so that offsets stay byte-exact.
func encodeLog(b *logBody, data []byte) {
	b.Size = len(data)
	if utf8.Valid(data) {
		b.Data = string(data)
		return
	}
	b.Encoding = "base64"
	b.Data = base64.StdEncoding.EncodeToString(data)
}

// marshal encodes one event body. The body types hold only strings,
// numbers and times, so encoding cannot fail.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("report: marshal event: " + err.Error())
	}
	return b
}
