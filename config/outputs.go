package config

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spraywatch/spraywatch/alert"
)

// LoadOutputs reads a file holding only an outputs: list (serve --outputs)
// as strictly as Load reads a configuration file: an unknown key is an
// error, and every output is checked as Load checks it. File names in it
// are taken as given, relative to the working directory.
func LoadOutputs(path string) ([]alert.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading outputs: %w", err)
	}
	return ParseOutputs(path, b)
}

// ParseOutputs reads an outputs: list from b; path is used in errors.
func ParseOutputs(path string, b []byte) ([]alert.Config, error) {
	c := &Config{Path: path}
	var doc struct {
		Outputs []alert.Config `yaml:"outputs"`
	}
	if err := c.decode(b, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: no outputs", path)
		}
		return nil, err
	}
	if len(doc.Outputs) == 0 {
		return nil, fmt.Errorf("%s: no outputs", path)
	}
	var errs []error
	for i := range doc.Outputs {
		if err := doc.Outputs[i].Check(); err != nil {
			errs = append(errs, c.errorf([]any{"outputs", i}, "outputs[%d]: %v", i, err))
		}
		if err := alert.CheckName(doc.Outputs, i); err != nil {
			errs = append(errs, c.errorf([]any{"outputs", i}, "outputs[%d]: %v", i, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return doc.Outputs, nil
}
