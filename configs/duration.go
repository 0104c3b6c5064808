package configs

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// durationUnits is shown in every duration error so the fix is on screen.
const durationUnits = "units: ns, us, ms, s, m, h"

// Duration is a time.Duration written in YAML as a Go duration string: "90s", "10m",
// "1h30m". A bare number is refused: "600" could be seconds, minutes or nanoseconds
// depending on who wrote it, and a token lifetime read in the wrong unit is a
// security problem, not a typo.
type Duration time.Duration

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// String formats d the way an operator would write it: "10m" rather than "10m0s",
// "720h" rather than "720h0m0s". ParseDuration reads the result back unchanged.
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-len("0s")]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-len("0m")]
	}
	return s
}

// ParseDuration reads a duration with a unit. It differs from time.ParseDuration in
// refusing numbers without a unit (including "0": write "0s") and in explaining what
// to write instead.
func ParseDuration(s string) (Duration, error) {
	if s == "" {
		return 0, errors.New(`must be a duration such as "90s", "10m" or "1h30m", not empty`)
	}
	if isBareNumber(s) {
		return 0, fmt.Errorf("%q has no unit: write it with one, e.g. %q (%s)", s, s+"s", durationUnits)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if strings.HasSuffix(s, "d") && isBareNumber(strings.TrimSuffix(s, "d")) {
			return 0, fmt.Errorf("%q: days are not a unit here, write hours (e.g. \"168h\" for 7 days) (%s)", s, durationUnits)
		}
		return 0, fmt.Errorf("%q is not a duration: write a number with a unit, e.g. \"90s\", \"10m\" or \"1h30m\" (%s)", s, durationUnits)
	}
	return Duration(d), nil
}

// isBareNumber reports whether s is a decimal number with no unit, such as "600",
// "-5" or "1.5".
func isBareNumber(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if s == "" {
		return false
	}
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.':
		default:
			return false
		}
	}
	return digits > 0
}

// UnmarshalYAML reads a duration string. YAML resolves 600 to an integer; it is
// refused with the same message as the quoted "600".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New(`must be a duration such as "90s", "10m" or "1h30m", not a list or mapping`)
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes d in the form ParseDuration reads.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
