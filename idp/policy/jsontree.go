package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// jsonObject keeps members in document order so that errors come out in the order a
// reader sees them, and so that duplicate keys can be refused: encoding/json silently
// keeps the last duplicate, and two parsers disagreeing about which "Effect" counts is
// how policy bypasses are born.
type jsonObject struct {
	keys []string
	vals []any
}

func (o *jsonObject) get(key string) (any, bool) {
	for i, k := range o.keys {
		if k == key {
			return o.vals[i], true
		}
	}
	return nil, false
}

// decodeTree decodes one JSON value into nil, bool, json.Number, string, []any or
// *jsonObject, refusing nesting deeper than MaxDepth, duplicate keys and trailing data.
func decodeTree(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: unexpected data after the policy document", ErrInvalidPolicy)
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if depth+1 > MaxDepth {
		return nil, fmt.Errorf("%w (limit %d levels)", ErrTooDeep, MaxDepth)
	}
	switch d {
	case '[':
		arr := []any{}
		for dec.More() {
			v, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, syntaxError(err)
		}
		return arr, nil
	case '{':
		obj := &jsonObject{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, syntaxError(err)
			}
			k, ok := kt.(string)
			if !ok {
				return nil, fmt.Errorf("%w: malformed JSON: object key is not a string", ErrInvalidPolicy)
			}
			if _, dup := obj.get(k); dup {
				return nil, fmt.Errorf("%w: duplicate key %q", ErrInvalidPolicy, k)
			}
			v, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			obj.keys = append(obj.keys, k)
			obj.vals = append(obj.vals, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, syntaxError(err)
		}
		return obj, nil
	}
	return nil, fmt.Errorf("%w: malformed JSON: unexpected %v", ErrInvalidPolicy, d)
}

func syntaxError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: unexpected end of JSON", ErrInvalidPolicy)
	}
	return fmt.Errorf("%w: malformed JSON: %v", ErrInvalidPolicy, err)
}
