// Package archtest holds no code: its test enforces the dependency rules of the architecture
// (dependencies point inward; vbox, chef and queue never import each other; the simulator and the
// driver are independent readings of the same samples).
package archtest
