package sigma

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spraywatch/spraywatch/rules"
)

// FuzzConvert: conversion never panics, and what it converts loads.
func FuzzConvert(f *testing.F) {
	ins, _ := filepath.Glob("testdata/*.yml")
	for _, in := range ins {
		data, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Convert([]Source{{Name: "f.yml", Data: data}})
		if err != nil || len(res.Rules) == 0 {
			return
		}
		out, err := res.YAML()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rules.Parse("converted", out); err != nil {
			t.Errorf("converted rules do not load: %v\n%s", err, out)
		}
	})
}
