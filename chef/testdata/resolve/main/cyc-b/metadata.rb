depends "cyc-a"
