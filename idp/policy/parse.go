package policy

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Parse decodes and validates a policy document of the given kind. The error, when not
// nil, joins every problem found (errors.Join), each a *FieldError naming its path, or
// wraps ErrTooLarge / ErrTooDeep / ErrInvalidPolicy when the JSON itself is unusable.
func Parse(data []byte, kind Kind) (*Document, error) {
	if len(data) > MaxDocumentSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxDocumentSize)
	}
	if !kind.valid() {
		return nil, fmt.Errorf("%w: unknown policy kind %v", ErrInvalidPolicy, kind)
	}
	tree, err := decodeTree(data)
	if err != nil {
		return nil, err
	}
	var p problems
	d := &Document{Kind: kind}
	top, ok := tree.(*jsonObject)
	if !ok {
		p.add("", "a policy document must be a JSON object")
		return nil, p.err()
	}
	for i, k := range top.keys {
		v := top.vals[i]
		switch k {
		case "Version":
			s, ok := v.(string)
			if !ok {
				p.add("Version", "must be a string")
				d.Version = "\x00invalid"
				continue
			}
			d.Version = s
		case "Id":
			s, ok := v.(string)
			if !ok {
				p.add("Id", "must be a string")
				continue
			}
			d.ID = s
		case "Statement":
			decodeStatements(d, v, &p)
		default:
			p.add(k, "unknown element"+suggest(k, topKeys))
		}
	}
	if _, ok := top.get("Statement"); !ok {
		p.add("Statement", "required")
	}
	d.validate(&p, true)
	if err := p.err(); err != nil {
		return nil, err
	}
	return d, nil
}

func decodeStatements(d *Document, v any, p *problems) {
	switch t := v.(type) {
	case *jsonObject:
		d.single = true
		d.Statements = []Statement{decodeStatement(t, "Statement", p)}
	case []any:
		if len(t) == 0 {
			p.add("Statement", "must contain at least one statement")
			return
		}
		d.Statements = make([]Statement, 0, len(t))
		for i, e := range t {
			path := indexPath("Statement", i)
			o, ok := e.(*jsonObject)
			if !ok {
				p.add(path, "a statement must be a JSON object")
				// Keep indexes aligned with the source so later paths stay right.
				d.Statements = append(d.Statements, Statement{seen: ^elemSet(0)})
				continue
			}
			d.Statements = append(d.Statements, decodeStatement(o, path, p))
		}
	default:
		p.add("Statement", "must be a statement object or a list of statements")
	}
}

func decodeStatement(o *jsonObject, path string, p *problems) Statement {
	var s Statement
	for i, k := range o.keys {
		v := o.vals[i]
		e := elemFor(k)
		if e == 0 {
			p.add(path+"."+k, "unknown element"+suggest(k, statementKeys))
			continue
		}
		s.seen |= e
		fp := path + "." + k
		switch k {
		case "Sid", "Effect":
			str, ok := v.(string)
			if !ok {
				p.add(fp, "must be a string")
				continue
			}
			if k == "Sid" {
				s.Sid = str
			} else {
				s.Effect = str
			}
		case "Action", "NotAction", "Resource", "NotResource":
			list, ok := stringList(v, false)
			if !ok {
				p.add(fp, "must be a string or list of strings")
				continue
			}
			switch k {
			case "Action":
				s.Action = list
			case "NotAction":
				s.NotAction = list
			case "Resource":
				s.Resource = list
			default:
				s.NotResource = list
			}
		case "Principal", "NotPrincipal":
			ps := decodePrincipal(v, fp, p)
			if k == "Principal" {
				s.Principal = ps
			} else {
				s.NotPrincipal = ps
			}
		case "Condition":
			s.Conditions = decodeConditions(v, fp, p)
		}
	}
	return s
}

// stringList accepts a string or a list of strings. With scalars set, JSON numbers and
// booleans are accepted and kept as their literal text, as IAM does for condition values
// such as {"Bool": {"aws:MultiFactorAuthPresent": true}}.
func stringList(v any, scalars bool) ([]string, bool) {
	one := func(v any) (string, bool) {
		switch t := v.(type) {
		case string:
			return t, true
		case json.Number:
			return t.String(), scalars
		case bool:
			return strconv.FormatBool(t), scalars
		}
		return "", false
	}
	if arr, ok := v.([]any); ok {
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			s, ok := one(e)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	s, ok := one(v)
	if !ok {
		return nil, false
	}
	return []string{s}, true
}

// principalTypes lists the keys of a Principal object. "Portcullis" is our native
// namespace; "AWS" is accepted so that policies written for AWS work unchanged.
var principalTypes = []string{"Portcullis", "AWS", "Federated", "Service"}

func decodePrincipal(v any, path string, p *problems) *PrincipalSet {
	switch t := v.(type) {
	case string:
		if t != "*" {
			p.add(path, `must be "*" or an object such as {"Federated": "..."}`)
			return nil
		}
		return &PrincipalSet{Wildcard: true}
	case *jsonObject:
		ps := &PrincipalSet{}
		if len(t.keys) == 0 {
			p.add(path, "must name at least one principal")
			return nil
		}
		for i, k := range t.keys {
			kp := path + "." + k
			list, ok := stringList(t.vals[i], false)
			if !ok {
				p.add(kp, "must be a string or list of strings")
				continue
			}
			switch k {
			case "Portcullis":
				ps.Portcullis = list
			case "AWS":
				ps.AWS = list
			case "Federated":
				ps.Federated = list
			case "Service":
				ps.Service = list
			default:
				p.add(kp, "unknown principal type"+suggest(k, principalTypes)+"; use Portcullis, AWS, Federated or Service")
			}
		}
		if ps.Portcullis == nil && ps.AWS == nil && ps.Federated == nil && ps.Service == nil {
			return nil // every entry was malformed and has been reported
		}
		return ps
	}
	p.add(path, `must be "*" or an object such as {"Federated": "..."}`)
	return nil
}

func decodeConditions(v any, path string, p *problems) []Condition {
	o, ok := v.(*jsonObject)
	if !ok {
		p.add(path, "must be an object mapping condition operators to {key: values}")
		return nil
	}
	out := []Condition{}
	for i, op := range o.keys {
		opPath := path + "." + op
		block, ok := o.vals[i].(*jsonObject)
		if !ok {
			p.add(opPath, "must be an object mapping condition keys to values")
			continue
		}
		if len(block.keys) == 0 {
			p.add(opPath, "must contain at least one condition key")
			continue
		}
		for j, key := range block.keys {
			vals, ok := stringList(block.vals[j], true)
			if !ok {
				p.add(keyPath(opPath, key), "value must be a string or list of strings")
				continue
			}
			out = append(out, Condition{Operator: op, Key: key, Values: vals})
		}
	}
	return out
}
