package configs

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "90s", want: 90 * time.Second},
		{in: "10m", want: 10 * time.Minute},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "0s", want: 0},
		{in: "-5m", want: -5 * time.Minute},
		{in: "", wantErr: "not empty"},
		{in: "600", wantErr: `"600" has no unit: write it with one, e.g. "600s"`},
		{in: "0", wantErr: `"0" has no unit`},
		{in: "1.5", wantErr: "has no unit"},
		{in: "-5", wantErr: "has no unit"},
		{in: "7d", wantErr: `days are not a unit here, write hours (e.g. "168h" for 7 days)`},
		{in: "ten minutes", wantErr: `"ten minutes" is not a duration`},
		{in: "10 m", wantErr: "is not a duration"},
		{in: "1y", wantErr: "units: ns, us, ms, s, m, h"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDuration(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseDuration(%q) error = %v, want it to contain %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDuration(%q): %v", tc.in, err)
			}
			if got.Duration() != tc.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tc.in, got.Duration(), tc.want)
			}
		})
	}
}

func TestDurationStringRoundTrips(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{10 * time.Minute, "10m"},
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{720 * time.Hour, "720h"},
		{2*time.Hour + 30*time.Second, "2h0m30s"},
		{60 * time.Second, "1m"},
		{250 * time.Millisecond, "250ms"},
		{0, "0s"},
		{-10 * time.Minute, "-10m"},
		{time.Minute + 500*time.Millisecond, "1m0.5s"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			d := Duration(tc.d)
			if got := d.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			back, err := ParseDuration(d.String())
			if err != nil || back != d {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", d.String(), back, err, d)
			}
		})
	}
}

func TestDurationYAML(t *testing.T) {
	t.Parallel()
	type doc struct {
		D Duration `yaml:"d"`
	}
	out, err := yaml.Marshal(doc{D: Duration(90 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "d: 1h30m\n" {
		t.Errorf("Marshal = %q, want %q", out, "d: 1h30m\n")
	}
	var got doc
	if err := yaml.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.D != Duration(90*time.Minute) {
		t.Errorf("Unmarshal = %v, want 1h30m", got.D)
	}
	for _, bad := range []string{"d: 600\n", "d: 1.5\n", "d: [1m]\n", "d: {a: 1}\n"} {
		if err := yaml.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("Unmarshal(%q) succeeded, want an error", bad)
		}
	}
}
