package control

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkStatusRoundTrip measures one `agent status` over the socket for a host of 50 VMs:
// connect, peer check, request, JSON response.
func BenchmarkStatusRoundTrip(b *testing.B) {
	h := newFake()
	for i := range 50 {
		h.st.VMs = append(h.st.VMs, VMStatus{Name: fmt.Sprintf("ruby-%d", i+1), Pool: "ruby", Role: "worker", State: "busy",
			Image: "399e743c3207", Worker: "build-01:1-ruby:builds", Serving: true, Job: &JobStatus{ID: "20260101-000000-00000000", Queue: "builds", Attempt: 1}})
	}
	s := serve(b, h)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Call(context.Background(), s.Path(), Request{Op: OpStatus}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
