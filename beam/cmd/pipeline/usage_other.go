//go:build !linux

package main

// jobUsage records nothing where /proc is missing.
type jobUsage struct{}

func startUsage() jobUsage { return jobUsage{} }

func (jobUsage) record(*jobResult) {}
