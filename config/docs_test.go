package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/rules"
)

// docBlock is a yaml block of a document.
type docBlock struct {
	line int // the line of the block's first line of YAML
	text string
}

// yamlBlocks returns the ```yaml blocks of the markdown file at path.
func yamlBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var out []docBlock
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```yaml" {
			continue
		}
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		if end == len(lines) {
			t.Fatalf("%s:%d: yaml block without its end", path, i+1)
		}
		out = append(out, docBlock{line: i + 2, text: strings.Join(lines[i+1:end], "\n") + "\n"})
		i = end
	}
	return out
}

// fileName returns the file a block names in its first line, as in
// "# identity-map.yml", or "" when it names none.
func (b docBlock) fileName() string {
	first, _, _ := strings.Cut(b.text, "\n")
	name, ok := strings.CutPrefix(first, "# ")
	if !ok {
		return ""
	}
	name, _, _ = strings.Cut(name, ",")
	if strings.ContainsAny(name, " /") || !strings.HasSuffix(name, ".yml") {
		return ""
	}
	return name
}

// TestDocsYAML loads every yaml block of the documents of the
// configuration file, the outputs and the rules as what it shows: a
// configuration file in docs/config.md, checked as the command it is
// written for runs it (with its rules and the formats of its sources), an
// outputs list in docs/sinks.md (or entries of one), and a rules file or
// an identity map in docs/rules.md and the README. A block whose first line
// names its file (# identity-map.yml) is written under that name next to
// the others, so that a rules file can name it. The fragments listed,
// which say so in their first line, are skipped.
func TestDocsYAML(t *testing.T) {
	fragments := map[string]bool{
		"docs/config.md: # fragment: a source's mapping": true,
	}
	dir := t.TempDir()
	type loaded struct {
		doc, path string
		block     docBlock
	}
	var all []loaded
	seen := map[string]bool{}
	for _, doc := range []string{"docs/config.md", "docs/sinks.md", "docs/rules.md", "README.md"} {
		for i, b := range yamlBlocks(t, filepath.Join("..", doc)) {
			first, _, _ := strings.Cut(b.text, "\n")
			if key := doc + ": " + first; fragments[key] {
				seen[key] = true
				continue
			}
			if strings.HasPrefix(first, "# fragment") {
				t.Errorf("%s:%d: a fragment not in the list of fragments", doc, b.line)
				continue
			}
			name := b.fileName()
			if name == "" {
				name = strings.NewReplacer("/", "-", ".md", "").Replace(doc) + "-" + string(rune('a'+i)) + ".yml"
			}
			path := filepath.Join(dir, name)
			if _, err := os.Stat(path); err == nil {
				t.Fatalf("%s:%d: two blocks write %s", doc, b.line, name)
			}
			if err := os.WriteFile(path, []byte(b.text), 0o644); err != nil {
				t.Fatal(err)
			}
			all = append(all, loaded{doc, path, b})
		}
	}
	for key := range fragments {
		if !seen[key] {
			t.Errorf("fragment %q is not in the documents", key)
		}
	}
	if len(all) < 9 {
		t.Fatalf("%d yaml blocks found: the documents' blocks were not read", len(all))
	}
	for _, l := range all {
		t.Run(filepath.Base(l.path), func(t *testing.T) {
			var err error
			switch {
			case l.doc == "docs/config.md":
				err = loadsAsConfig(l.path, l.block.text)
			case l.doc == "docs/sinks.md":
				err = loadsAsOutputs(l.path, l.block.text)
			case strings.HasPrefix(l.block.text, "identities:") || strings.Contains(l.block.text, "\nidentities:"):
				_, err = rules.LoadIdentityMap(l.path)
			default:
				_, err = rules.Load([]string{l.path}, true)
			}
			if err != nil {
				t.Errorf("%s:%d: the block does not load:\n%v", l.doc, l.block.line, err)
			}
		})
	}
}

// loadsAsConfig loads the configuration at path and checks it as config
// check does, short of reading the sources' files: for serve reading Kafka
// when no source has paths, else for replay.
func loadsAsConfig(path, text string) error {
	c, err := Parse(path, []byte(text))
	if err != nil {
		return err
	}
	use := UseReplay
	if !c.HasPaths() {
		use = UseKafka
	}
	if err := c.CheckUse(use); err != nil {
		return err
	}
	if _, err := rules.Load(c.Rules.Files, c.Rules.Mode == "extend"); err != nil {
		return err
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		if s.Format == Auto || s.Envelope == Auto || s.DefinitionFile != "" {
			continue // needs files the documents do not give
		}
		if _, err := s.Compile(); err != nil {
			return err
		}
	}
	return nil
}

// loadsAsOutputs loads an outputs list, or entries of one (a block that
// begins with "  - "), as serve --outputs does, and checks that the rules
// its routes name are rules of the default pack.
func loadsAsOutputs(path, text string) error {
	if strings.HasPrefix(text, "  - ") {
		text = "outputs:\n" + text
	}
	outs, err := ParseOutputs(path, []byte(text))
	if err != nil {
		return err
	}
	pack, err := rules.Load(nil, true)
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, r := range pack {
		ids[r.ID] = true
	}
	for i, o := range outs {
		for _, id := range o.Rules {
			if !ids[id] {
				return fmt.Errorf("outputs[%d]: routes rule %q, which is not a rule of the default pack", i, id)
			}
		}
	}
	return nil
}

// TestDocsSinkKeys checks that docs/sinks.md documents, in a row of one
// of its tables, every key an output takes.
func TestDocsSinkKeys(t *testing.T) {
	b, err := os.ReadFile("../docs/sinks.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "| `") {
			key, _, _ := strings.Cut(line[2:], " | ")
			rows = append(rows, key)
		}
	}
	typ := reflect.TypeOf(alert.Config{})
	for i := range typ.NumField() {
		key, _, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
		found := false
		for _, r := range rows {
			if strings.Contains(r, "`"+key+"`") {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("docs/sinks.md: output key %s is in no table", key)
		}
	}
}
