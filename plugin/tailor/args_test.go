package tailor

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestDecodeArgs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		raw     string
		wantErr string
		check   func(t *testing.T, a *TailorArgs)
	}{
		{name: "defaults", raw: `{"clusterName":"c"}`, check: func(t *testing.T, a *TailorArgs) {
			if a.BatchIdleDuration.Duration != time.Second || a.BatchMaxDuration.Duration != 10*time.Second || *a.ProvisionBeforePreemption || a.Catalog.Source != CatalogSourceAWS {
				t.Errorf("defaults: %+v", a)
			}
		}},
		{name: "yaml durations", raw: "clusterName: c\nbatchIdleDuration: 250ms\nbatchMaxDuration: 3s\nprovisionBeforePreemption: true\ncatalog: {source: static, zones: [us-east-1a]}", check: func(t *testing.T, a *TailorArgs) {
			if a.BatchIdleDuration.Duration != 250*time.Millisecond || a.BatchMaxDuration.Duration != 3*time.Second || !*a.ProvisionBeforePreemption || a.Catalog.Zones[0] != "us-east-1a" {
				t.Errorf("decoded %+v", a)
			}
		}},
		{name: "no cluster name", raw: `{}`, wantErr: "pluginConfig[Tailor].args.clusterName: Required value"},
		{name: "negative idle", raw: `{"clusterName":"c","batchIdleDuration":"-1s"}`, wantErr: "pluginConfig[Tailor].args.batchIdleDuration: Invalid value: \"-1s\": must be positive"},
		{name: "max shorter than idle", raw: `{"clusterName":"c","batchIdleDuration":"5s","batchMaxDuration":"2s"}`, wantErr: "batchMaxDuration: Invalid value: \"2s\": must not be shorter than batchIdleDuration (5s)"},
		{name: "unknown source", raw: `{"clusterName":"c","catalog":{"source":"gcp"}}`, wantErr: `pluginConfig[Tailor].args.catalog.source: Unsupported value: "gcp"`},
		{name: "static without zones", raw: `{"clusterName":"c","catalog":{"source":"static"}}`, wantErr: "pluginConfig[Tailor].args.catalog.zones: Required value"},
		{name: "bad endpoint", raw: `{"clusterName":"c","catalog":{"endpoint":"localhost"}}`, wantErr: "catalog.endpoint: Invalid value: \"localhost\": must be an absolute URL"},
		{name: "lease defaults", raw: `{"clusterName":"c"}`, check: func(t *testing.T, a *TailorArgs) {
			l := a.DisruptionLease
			if l.Namespace != "kube-system" || l.Name != "tailor-disruption" || l.LeaseDuration.Duration != 15*time.Second ||
				l.RenewDeadline.Duration != 10*time.Second || l.RetryPeriod.Duration != 2*time.Second || a.ReservationResyncPeriod.Duration != 30*time.Second {
				t.Errorf("lease and resync defaults: %+v, resync %v", l, a.ReservationResyncPeriod)
			}
		}},
		{name: "short lease", raw: "clusterName: c\nreservationResyncPeriod: 1s\ndisruptionLease: {namespace: tailor, name: d, leaseDuration: 4s, renewDeadline: 3s, retryPeriod: 1s}", check: func(t *testing.T, a *TailorArgs) {
			if a.DisruptionLease.Namespace != "tailor" || a.DisruptionLease.LeaseDuration.Duration != 4*time.Second || a.ReservationResyncPeriod.Duration != time.Second {
				t.Errorf("decoded %+v", a)
			}
		}},
		{name: "renew not shorter than lease", raw: `{"clusterName":"c","disruptionLease":{"leaseDuration":"5s","renewDeadline":"5s"}}`, wantErr: "disruptionLease.leaseDuration: Invalid value: \"5s\": must be longer than renewDeadline (5s)"},
		{name: "retry not shorter than renew", raw: `{"clusterName":"c","disruptionLease":{"renewDeadline":"1s","retryPeriod":"2s"}}`, wantErr: "disruptionLease.renewDeadline: Invalid value: \"1s\": must be longer than retryPeriod (2s)"},
		{name: "bad lease namespace", raw: `{"clusterName":"c","disruptionLease":{"namespace":"Kube_System"}}`, wantErr: "disruptionLease.namespace: Invalid value: \"Kube_System\""},
		{name: "zero resync", raw: `{"clusterName":"c","reservationResyncPeriod":"0s"}`, wantErr: "reservationResyncPeriod: Invalid value: \"0s\": must be positive"},
		{name: "consolidation defaults", raw: `{"clusterName":"c"}`, check: func(t *testing.T, a *TailorArgs) {
			if *a.Consolidation.MinSavings != 0.05 || a.Consolidation.ValidationPeriod.Duration != 15*time.Second {
				t.Errorf("consolidation defaults: minSavings %v, validationPeriod %v", *a.Consolidation.MinSavings, a.Consolidation.ValidationPeriod)
			}
		}},
		{name: "consolidation set", raw: "clusterName: c\nconsolidation: {minSavings: 0, validationPeriod: 500ms}", check: func(t *testing.T, a *TailorArgs) {
			if *a.Consolidation.MinSavings != 0 || a.Consolidation.ValidationPeriod.Duration != 500*time.Millisecond {
				t.Errorf("decoded minSavings %v, validationPeriod %v", *a.Consolidation.MinSavings, a.Consolidation.ValidationPeriod)
			}
		}},
		{name: "minSavings above 1", raw: `{"clusterName":"c","consolidation":{"minSavings":1.5}}`, wantErr: "consolidation.minSavings: Invalid value: 1.5: must be between 0 and 1"},
		{name: "negative minSavings", raw: `{"clusterName":"c","consolidation":{"minSavings":-0.1}}`, wantErr: "consolidation.minSavings: Invalid value: -0.1"},
		{name: "negative validationPeriod", raw: `{"clusterName":"c","consolidation":{"validationPeriod":"-1s"}}`, wantErr: "consolidation.validationPeriod: Invalid value: \"-1s\": must not be negative"},
		{name: "cost efficiency default", raw: `{"clusterName":"c"}`, check: func(t *testing.T, a *TailorArgs) {
			if a.CostEfficiencyInterval.Duration != 5*time.Minute {
				t.Errorf("costEfficiencyInterval defaults to %v", a.CostEfficiencyInterval)
			}
		}},
		{name: "cost efficiency never", raw: `{"clusterName":"c","costEfficiencyInterval":"0s"}`, check: func(t *testing.T, a *TailorArgs) {
			if a.CostEfficiencyInterval.Duration != 0 {
				t.Errorf("costEfficiencyInterval 0s decoded as %v", a.CostEfficiencyInterval)
			}
		}},
		{name: "negative costEfficiencyInterval", raw: `{"clusterName":"c","costEfficiencyInterval":"-1m"}`, wantErr: "costEfficiencyInterval: Invalid value: \"-1m0s\": must not be negative"},
		{name: "preference policy default", raw: `{"clusterName":"c"}`, check: func(t *testing.T, a *TailorArgs) {
			if a.PreferencePolicy != "Respect" {
				t.Errorf("preferencePolicy defaults to %q", a.PreferencePolicy)
			}
		}},
		{name: "unknown preference policy", raw: `{"clusterName":"c","preferencePolicy":"respect"}`, wantErr: "preferencePolicy: Unsupported value: \"respect\": supported values: \"Respect\", \"Ignore\""},
		{name: "not a duration", raw: `{"clusterName":"c","batchIdleDuration":"soon"}`, wantErr: "decoding the args of plugin Tailor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			contentType := runtime.ContentTypeYAML
			if strings.HasPrefix(tc.raw, "{") {
				contentType = runtime.ContentTypeJSON
			}
			a, err := decodeArgs(&runtime.Unknown{Raw: []byte(tc.raw), ContentType: contentType})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, a)
		})
	}
}

func TestDecodeTypedArgs(t *testing.T) {
	in := &TailorArgs{ClusterName: "c", BatchIdleDuration: &metav1.Duration{Duration: 2 * time.Second}}
	out, err := decodeArgs(in)
	if err != nil {
		t.Fatal(err)
	}
	if out == in || out.BatchIdleDuration.Duration != 2*time.Second || out.BatchMaxDuration.Duration != 10*time.Second {
		t.Errorf("typed args decoded to %+v", out)
	}
	if in.BatchMaxDuration != nil {
		t.Error("decoding defaulted the caller's args")
	}
}
