package ec2sim

import (
	"testing"
	"time"
)

func TestBootDelayDefaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      time.Duration
		want    time.Duration
		wantErr bool
	}{
		{name: "unset is the default", in: 0, want: DefaultBootDelay},
		{name: "NoBootDelay is none", in: NoBootDelay, want: 0},
		{name: "a delay is kept", in: 3 * time.Second, want: 3 * time.Second},
		{name: "another negative is refused", in: -2 * time.Second, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Options{BootDelay: tc.in}.withDefaults()
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && got.BootDelay != tc.want {
				t.Fatalf("BootDelay = %s, want %s", got.BootDelay, tc.want)
			}
		})
	}
}
