package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzVerify feeds arbitrary signature headers to the receiver-side
// parser: it must never panic, and only the true signature verifies.
func FuzzVerify(f *testing.F) {
	f.Add([]byte("k"), []byte(`{"a":1}`), "sha256=00")
	f.Add([]byte(""), []byte(""), Sign(nil, nil))
	f.Fuzz(func(t *testing.T, key, body []byte, header string) {
		good := Sign(key, body)
		if !Verify(key, body, good) {
			t.Fatal("own signature does not verify")
		}
		if Verify(key, body, header) && !equalFoldHex(header, good) {
			t.Fatalf("foreign header %q verified", header)
		}
	})
}

func equalFoldHex(a, b string) bool {
	return bytes.EqualFold([]byte(a), []byte(b))
}

// FuzzLogBatches writes arbitrary chunks and checks the batches: they
// rebuild the output exactly from their offsets, none exceeds BatchBytes,
// and text input is never cut inside a UTF-8 sequence.
func FuzzLogBatches(f *testing.F) {
	f.Add([]byte("hello \u20ac world\n"), uint8(4), uint8(3))
	f.Add([]byte{0xff, 0xe2, 0x82, 0xac, 0xe2}, uint8(2), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, batch, split uint8) {
		r, err := New(Config{URL: "http://127.0.0.1:1/", BatchBytes: int(batch%16) + 1, QueueEvents: 1 << 20}, nil)
		if err != nil {
			t.Fatal(err)
		}
		step := int(split%7) + 1
		for i := 0; i < len(data); i += step {
			r.Log("job", data[i:min(i+step, len(data))])
		}
		r.Finished("job", Finish{})
		var rebuilt []byte
		for _, it := range r.q.items {
			var e gotEvent
			if err := json.Unmarshal(it.encode(), &e); err != nil {
				t.Fatal(err)
			}
			if e.Type != TypeLog {
				continue
			}
			chunk := []byte(e.Data)
			if e.Encoding == "base64" {
				if chunk, err = base64.StdEncoding.DecodeString(e.Data); err != nil {
					t.Fatal(err)
				}
			}
			if e.Offset != int64(len(rebuilt)) || e.Size != len(chunk) || len(chunk) > r.cfg.BatchBytes {
				t.Fatalf("batch offset %d size %d (%d bytes), rebuilt %d, max %d", e.Offset, e.Size, len(chunk), len(rebuilt), r.cfg.BatchBytes)
			}
			if utf8.Valid(data) && r.cfg.BatchBytes >= utf8.UTFMax && e.Encoding != "" {
				t.Fatalf("text input produced a non-text batch %q", chunk)
			}
			rebuilt = append(rebuilt, chunk...)
		}
		if !bytes.Equal(rebuilt, data) {
			t.Fatalf("rebuilt %q, want %q", rebuilt, data)
		}
	})
}
