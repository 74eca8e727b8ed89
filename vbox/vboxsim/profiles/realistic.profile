# The "realistic" latency profile of the VirtualBox simulator.
# Every number is from ../shared/VBOX-TIMINGS.md section 3.1; the source of
# each is written next to it. ESTIMATE means no source gives the number.
# Format: op = duration  (Go duration syntax). "scale = 0.1" shrinks all.

version            = 45ms   # 1.1 minikube#9647, 1 sample
list               = 60ms   # ESTIMATE between list hostonlyifs/--version (36-45 ms) and showvminfo median (86 ms)
showvminfo         = 85ms   # 1.1 median of 21 samples (61-314 ms)
snapshot_list      = 85ms   # 1.1 same as showvminfo
modifyvm           = 50ms   # 1.1 minikube#10011 modifyvm 45 ms
setextradata       = 50ms   # 1.1 minikube#10011 (modifyvm class)
guestproperty      = 50ms   # 1.1 minikube#10011 (modifyvm class)
createvm           = 230ms  # 1.1 minikube#10011, 228 ms
startvm            = 3s     # 1.2 packer#11115, about 3 s +-1 s
boot               = 27s    # 1.2 gitian#166 "about 30 seconds from start" minus the 3 s startvm
snapshot_restore   = 800ms  # ESTIMATE, split of the measured restore+startvm median of 3.26 s (1.3)
startvm_saved      = 2200ms # ESTIMATE, rest of that 3.26 s after restore (800) and ~3 showvminfo (255)
resume_network     = 5s     # 1.3 span B median 5.04 s (host-only HTTP agent; Linux SSH over NAT unverified)
clonevm_link       = 800ms  # 1.4 "one second or less" (contiv)
clonevm_full       = 35s    # ESTIMATE by analogy with import (both copy the whole disk)
import             = 35s    # 1.4 midpoint of 20-50 s (contiv); 2010 log: 107 s slow tail
export             = 60s    # ESTIMATE, none found; assumed slower than import
snapshot_take      = 500ms  # ESTIMATE (differencing image + XML)
snapshot_take_live = 4s     # ESTIMATE; VM paused while state written; travis-worker 3 s sleep
savestate          = 4s     # ESTIMATE, none found (boot2docker "a minute or two" is a slow tail)
snapshot_delete    = 2s     # ESTIMATE (plus 10 ms per MB of differencing data, not modelled)
poweroff           = 1s     # ESTIMATE; cuckoo 1-s-quantized observations, Vagrant 1 s sleep
lock_linger        = 1s     # 1.5 ~0.9 s implied by packer#3744; sleeps 0.5 s GNS3, 1 s Vagrant, 2 s Packer
acpi_shutdown      = 10s    # ESTIMATE, none found; tools allow 60 s (Vagrant) to 5 min (Packer)
pause              = 150ms  # 1.1 61 ms VMM pause + 85 ms CLI round trip (derived)
resume             = 90ms   # 1.1 2.3 ms + 85 ms (derived)
unregistervm       = 1s     # ESTIMATE, none found
