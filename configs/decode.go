package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxAliasHops bounds alias resolution. yaml.v3 refuses recursive anchors, so one
// hop is the most a valid document needs; the bound is defence in depth.
const maxAliasHops = 4

// checkDocument walks the YAML document alongside the Config type before anything is
// decoded. yaml.v3's own errors ("field acess_token_lifetime not found in type
// configs.TokensConfig") name a Go type, not the key the operator wrote, so this walk
// reports unknown keys, duplicate keys and values of the wrong shape with their full
// key path and line. It returns the line of every key it saw, keyed by path, so that
// later validation errors can point at the line too.
func checkDocument(data []byte) (map[string]int, error) {
	lines := map[string]int{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return lines, nil // empty file: all defaults
		}
		return nil, &FieldError{Err: fmt.Errorf("not valid YAML: %w", err)}
	}
	for {
		// A trailing "---" with nothing after it is harmless; a second document with
		// settings would be silently ignored by the decoder, so it is refused.
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &FieldError{Err: fmt.Errorf("not valid YAML: %w", err)}
		}
		if len(extra.Content) > 0 && !isNull(extra.Content[0]) {
			return nil, &FieldError{Line: extra.Content[0].Line, Err: errors.New("a second YAML document (after ---) is not allowed: put every setting in one document")}
		}
	}
	w := walker{lines: lines}
	root := &doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return lines, nil
		}
		root = doc.Content[0]
	}
	w.walk(root, reflect.TypeOf(Config{}), "")
	if len(w.errs) > 0 {
		return nil, errors.Join(w.errs...)
	}
	return lines, nil
}

type walker struct {
	lines map[string]int
	errs  []error
}

func (w *walker) fail(line int, path string, err error) {
	w.errs = append(w.errs, &FieldError{Line: line, Path: path, Err: err})
}

// walk checks node n against Go type t; path is the key path of n.
func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	n, ok := w.resolveAlias(n, path)
	if !ok {
		return
	}
	if isNull(n) {
		return // YAML null leaves the default in place, as yaml.v3 does
	}
	switch {
	case t.Kind() == reflect.Struct:
		w.mapping(n, t, path)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.fail(n.Line, path, fmt.Errorf("must be a list, not %s", describe(n)))
			return
		}
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			w.lines[p] = item.Line
			w.walk(item, t.Elem(), p)
		}
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		// Free-form maps (e.g. claim → tag): any key, each value checked as its type.
		if n.Kind != yaml.MappingNode {
			w.fail(n.Line, path, fmt.Errorf("must be a mapping, not %s", describe(n)))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := fmt.Sprintf("%s[%s]", path, k.Value)
			if k.Kind != yaml.ScalarNode {
				w.fail(k.Line, path, fmt.Errorf("keys must be plain names, not %s", describe(k)))
				continue
			}
			w.lines[p] = k.Line
			w.walk(v, t.Elem(), p)
		}
	default:
		w.leaf(n, t, path)
	}
}

func (w *walker) resolveAlias(n *yaml.Node, path string) (*yaml.Node, bool) {
	for hops := 0; n.Kind == yaml.AliasNode; hops++ {
		if n.Alias == nil || hops >= maxAliasHops {
			w.fail(n.Line, path, errors.New("alias does not resolve"))
			return nil, false
		}
		n = n.Alias
	}
	return n, true
}

func (w *walker) mapping(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		w.fail(n.Line, path, fmt.Errorf("must be a mapping of keys, not %s", describe(n)))
		return
	}
	fields := yamlFields(t)
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			w.fail(k.Line, path, fmt.Errorf("keys must be plain names, not %s", describe(k)))
			continue
		}
		name := k.Value
		child := joinPath(path, name)
		if k.ShortTag() == "!!merge" {
			// Merge keys copy keys from elsewhere in the file; with them an unknown
			// or duplicate key could hide where no one reads. Configs are short
			// enough to write out.
			w.fail(k.Line, path, errors.New("merge keys (<<) are not supported: write the keys out"))
			continue
		}
		if line, dup := seen[name]; dup {
			w.fail(k.Line, child, fmt.Errorf("%w: already set at line %d", ErrDuplicateKey, line))
			continue
		}
		seen[name] = k.Line
		f, ok := fields[name]
		if !ok {
			err := ErrUnknownKey
			if s := suggest(name, fields); s != "" {
				err = fmt.Errorf("%w (did you mean %q?)", ErrUnknownKey, s)
			}
			w.fail(k.Line, child, err)
			continue
		}
		w.lines[child] = k.Line
		w.walk(v, f.Type, child)
	}
}

// leaf checks that a scalar decodes into t, reporting the key path on failure.
func (w *walker) leaf(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.ScalarNode {
		w.fail(n.Line, path, fmt.Errorf("must be a single value, not %s", describe(n)))
		return
	}
	isInt := false
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		// Duration implements yaml.Unmarshaler and explains its own errors.
		isInt = !reflect.PointerTo(t).Implements(typeOf[yaml.Unmarshaler]())
	}
	// yaml.v3 truncates 12.5 to 12 when decoding into an int; a limit must be
	// exactly what was written.
	if isInt && n.ShortTag() != "!!int" {
		w.fail(n.Line, path, fmt.Errorf("must be a whole number (got %q)", n.Value))
		return
	}
	err := n.Decode(reflect.New(t).Interface())
	if err == nil {
		return
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		if isInt {
			err = fmt.Errorf("must be a whole number (got %q)", n.Value)
		} else {
			err = fmt.Errorf("must be a %s (got %q)", t.Kind(), n.Value)
		}
	}
	w.fail(n.Line, path, err)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	default:
		return "this node"
	}
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// yamlFields maps each yaml tag name of struct type t to its field.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := make(map[string]reflect.StructField, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f
	}
	return out
}

// suggest returns the known key closest to name if it is close enough to be the
// intended one (a typo or two), else "".
func suggest(name string, fields map[string]reflect.StructField) string {
	best, bestDist := "", 0
	for k := range fields {
		d := editDistance(name, k)
		if best == "" || d < bestDist || (d == bestDist && k < best) {
			best, bestDist = k, d
		}
	}
	if best == "" || bestDist > 3 || bestDist*2 > len(name) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func typeOf[T any]() reflect.Type { return reflect.TypeOf((*T)(nil)).Elem() }
