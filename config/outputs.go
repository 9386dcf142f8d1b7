package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
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
			for _, err := range outputErrors(err) {
				errs = append(errs, c.errorf(outputKey(i, err), "outputs[%d]: %v", i, err))
			}
		}
		if err := alert.CheckName(doc.Outputs, i); err != nil {
			errs = append(errs, c.errorf([]any{"outputs", i}, "outputs[%d]: %v", i, err))
		}
		if err := alert.CheckSpoolDir(doc.Outputs, i); err != nil {
			errs = append(errs, c.errorf(outputKey(i, err), "outputs[%d]: %v", i, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	resolveOutputs(filepath.Dir(path), doc.Outputs)
	return doc.Outputs, nil
}

// WriteErrors reports the files the configuration writes, used as u says,
// that cannot be created as named: OutputWriteErrors and, for replay,
// ReplayWriteErrors (serve ignores those settings). Load does not check
// this (the files are created where the configuration runs, perhaps not
// where it is loaded); config check does.
func (c *Config) WriteErrors(u Use) []error {
	errs := c.OutputWriteErrors()
	if u != UseReplay {
		return errs
	}
	return append(errs, c.ReplayWriteErrors()...)
}

// ReplayWriteErrors reports the files of replay.report, cpu_profile and
// mem_profile that cannot be created as named: their directory does not
// exist (or is not a directory), or the name is a directory's. Each error
// is placed at its key.
func (c *Config) ReplayWriteErrors() []error {
	var errs []error
	for _, s := range []struct {
		key, path string
	}{{"report", c.Replay.Report}, {"cpu_profile", c.Replay.CPUProfile}, {"mem_profile", c.Replay.MemProfile}} {
		if err := c.writeError([]any{"replay", s.key}, "replay."+s.key, s.path, false); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// OutputWriteErrors reports the paths of the file outputs that cannot be
// written as named: a directory that does not exist (or is not a
// directory), a name that is a directory's, or a symbolic link, named
// pipe, device or socket, which the file output refuses (see
// alert.CheckFilePath). Each error is placed at its output's path key.
func (c *Config) OutputWriteErrors() []error {
	var errs []error
	for i, o := range c.Outputs {
		if o.Type != "file" {
			continue
		}
		if err := c.writeError([]any{"outputs", i, "path"}, fmt.Sprintf("outputs[%d] (%s): path", i, o.NameAt(i)), o.Path, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// writeError returns the error of the file p that the setting at (named
// what) writes, if it cannot be written as named; regular says that p
// must be absent or a regular file, as for the file output.
func (c *Config) writeError(at []any, what, p string, regular bool) error {
	if p == "" || p == "-" {
		return nil
	}
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return c.errorf(at, "%s %s is a directory: expected a file name", what, p)
	}
	if regular {
		if err := alert.CheckFilePath(p); err != nil {
			return c.errorf(at, "%s %v", what, err)
		}
	}
	dir := filepath.Dir(p)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c.errorf(at, "%s %s: directory %s does not exist", what, p, dir)
	case err != nil:
		return c.errorf(at, "%s %s: %v", what, p, err)
	case !st.IsDir():
		return c.errorf(at, "%s %s: %s is not a directory", what, p, dir)
	}
	return nil
}

// outputErrors splits an error of alert.Config.Check into the errors it
// joins, each to be placed at its own key.
func outputErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// outputKey is the path of the node of output i that err is about: the
// key of an alert.KeyError, else the output.
func outputKey(i int, err error) []any {
	at := []any{"outputs", i}
	var ke *alert.KeyError
	if errors.As(err, &ke) {
		for _, k := range ke.Key {
			at = append(at, k)
		}
	}
	return at
}
