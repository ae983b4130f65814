package catalog

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"testing"
)

// dataDir holds the facts the table is generated from.
var dataDir = filepath.Join("..", "..", "hack", "data", "ec2")

// dataType is the part of an instance-types.json element the test compares.
type dataType struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels"`
	EKSMaxPods  int32             `json:"eksMaxPods"`
	OnDemandUSD *float64          `json:"onDemandUSD"`
	VPC         *struct{}         `json:"vpc"`
}

// TestStaticTableMatchesData holds the compiled-in table, and the labels the
// catalog derives from it, to the data it was generated from: a stale
// zz_generated file or a label built differently from Karpenter's fails here.
func TestStaticTableMatchesData(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(dataDir, "instance-types.json"))
	if err != nil {
		t.Fatal(err)
	}
	var data []dataType
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatal(err)
	}
	if len(data) != len(staticTypes) {
		t.Fatalf("the table has %d types, the data %d; run go generate", len(staticTypes), len(data))
	}
	table := map[string]*staticType{}
	for i := range staticTypes {
		table[staticTypes[i].Name] = &staticTypes[i]
	}
	prices := StaticOnDemandPrices()
	for _, want := range data {
		row, ok := table[want.Name]
		if !ok {
			t.Errorf("%s: not in the table", want.Name)
			continue
		}
		if got := infoLabels(&row.Info, "", linux); !maps.Equal(got, want.Labels) {
			t.Errorf("%s: labels\n got %v\nwant %v", want.Name, got, want.Labels)
		}
		if row.MaxPods != want.EKSMaxPods {
			t.Errorf("%s: MaxPods = %d, want eksMaxPods %d", want.Name, row.MaxPods, want.EKSMaxPods)
		}
		if want.VPC != nil {
			if got := ENILimitedPods(row.ENIs, row.IPv4PerENI); got != want.EKSMaxPods {
				t.Errorf("%s: %d ENIs x (%d - 1) + 2 = %d, want eksMaxPods %d", want.Name, row.ENIs, row.IPv4PerENI, got, want.EKSMaxPods)
			}
		}
		price, priced := prices[want.Name]
		switch {
		case want.OnDemandUSD == nil && priced:
			t.Errorf("%s: priced at %v, the data has no price", want.Name, price)
		case want.OnDemandUSD != nil && price != *want.OnDemandUSD:
			t.Errorf("%s: price %v, want %v", want.Name, price, *want.OnDemandUSD)
		}
	}
}

// TestStaticPricesCoverPriceFile checks that every price of the price file,
// including the types the facts do not describe, is compiled in.
func TestStaticPricesCoverPriceFile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(dataDir, "prices-"+StaticRegion+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Prices map[string]float64 `json:"prices"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	prices := StaticOnDemandPrices()
	for name, want := range file.Prices {
		if got, ok := prices[name]; !ok || got != want {
			t.Errorf("%s: compiled-in price %v (present %t), want %v", name, got, ok, want)
		}
	}
}

// TestStaticEBSAttachmentsMatchData holds the compiled-in EBS attachment
// limits to ebs-attachments.json.
func TestStaticEBSAttachmentsMatchData(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(dataDir, "ebs-attachments.json"))
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]struct {
		MaximumEBSAttachments int32  `json:"maximumEbsAttachments"`
		AttachmentLimitType   string `json:"attachmentLimitType"`
	}
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatal(err)
	}
	if len(data) != len(staticTypes) {
		t.Fatalf("the table has %d types, the EBS data %d; run go generate", len(staticTypes), len(data))
	}
	for i := range staticTypes {
		row := &staticTypes[i]
		want, ok := data[row.Name]
		wantEBS := EBSAttachments{MaxAttachments: want.MaximumEBSAttachments, Dedicated: want.AttachmentLimitType == "dedicated"}
		if !ok || row.EBS != wantEBS {
			t.Errorf("%s: EBS %+v, want %+v (listed %t)", row.Name, row.EBS, wantEBS, ok)
		}
	}
}
