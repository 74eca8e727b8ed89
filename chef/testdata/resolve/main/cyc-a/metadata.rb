depends "cyc-b"
