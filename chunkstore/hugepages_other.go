//go:build !linux

package chunkstore

func adviseHugePages([]byte) {}
