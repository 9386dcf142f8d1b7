package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spraywatch/spraywatch/alert"
)

// LoadOutputs reads a file holding only an outputs: list (serve --outputs)
// as strictly as Load reads a configuration file: an unknown key is an
// error, and every output is checked as Load checks it. Relative file names
// in it are taken relative to the file's directory, as in a configuration
// file.
func LoadOutputs(path string) ([]alert.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading outputs: %w", err)
	}
	return ParseOutputs(path, b)
}

// ParseOutputs reads an outputs: list from b; path is used in errors and to
// resolve relative file names.
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
	resolveOutputs(filepath.Dir(path), doc.Outputs)
	return doc.Outputs, nil
}
