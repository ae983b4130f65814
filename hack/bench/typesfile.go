package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"

	"github.com/tailor-project/tailor/launcher/catalog"
)

// The types file carries the instance types Karpenter solved with, as
// Karpenter computes them (capacity, overhead, allocatable), from the
// Karpenter side of the comparison (hack/bench/karpenter, typesfile.go
// there declares the writer's half of this format) to Tailor's side, so
// both price and pack with the very same types rather than with a
// look-alike.

// typesFile is the file's top level.
type typesFile struct {
	Source string         `json:"source"`
	Types  []instanceType `json:"types"`
}

// instanceType is one type as Karpenter sees it.
type instanceType struct {
	Name        string              `json:"name"`
	Capacity    corev1.ResourceList `json:"capacity"`
	Overhead    overhead            `json:"overhead"`
	Allocatable corev1.ResourceList `json:"allocatable"`
	// Labels are the single-valued requirements but zone and capacity
	// type: the labels a node of the type is sure to carry.
	Labels map[string]string `json:"labels"`
	// Requirements are for the record; Tailor keeps a type's facts as
	// labels, and a requirement with several values (the fake types' OS:
	// darwin, linux, windows) or none (DoesNotExist) makes no label.
	Requirements []corev1.NodeSelectorRequirement `json:"requirements"`
	Offerings    []offering                       `json:"offerings"`
}

type overhead struct {
	KubeReserved      corev1.ResourceList `json:"kubeReserved,omitempty"`
	SystemReserved    corev1.ResourceList `json:"systemReserved,omitempty"`
	EvictionThreshold corev1.ResourceList `json:"evictionThreshold,omitempty"`
}

type offering struct {
	Zone         string  `json:"zone"`
	CapacityType string  `json:"capacityType"`
	Price        float64 `json:"price"`
	Available    bool    `json:"available"`
}

// readTypesFile decodes a types file, refusing fields it does not know:
// a field Karpenter's side added and Tailor's ignored would make the two
// sides solve with different types without a word.
func readTypesFile(path string) (*typesFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the instance types: %w", err)
	}
	f := &typesFile{}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(f); err != nil {
		return nil, fmt.Errorf("decoding the instance types in %s: %w", path, err)
	}
	if len(f.Types) == 0 {
		return nil, fmt.Errorf("no instance types in %s", path)
	}
	return f, nil
}

// catalogTypes builds Tailor's instance types from the file's, every
// offering with a known price.
func (f *typesFile) catalogTypes() []*catalog.InstanceType {
	out := make([]*catalog.InstanceType, 0, len(f.Types))
	for _, t := range f.Types {
		it := &catalog.InstanceType{
			Name:     t.Name,
			Labels:   copyMap(t.Labels),
			Capacity: t.Capacity.DeepCopy(),
			Overhead: catalog.Overhead{
				KubeReserved:      t.Overhead.KubeReserved.DeepCopy(),
				SystemReserved:    t.Overhead.SystemReserved.DeepCopy(),
				EvictionThreshold: t.Overhead.EvictionThreshold.DeepCopy(),
			},
			Allocatable: t.Allocatable.DeepCopy(),
		}
		for _, o := range t.Offerings {
			it.Offerings = append(it.Offerings, catalog.Offering{Zone: o.Zone, CapacityType: o.CapacityType, Price: o.Price, PriceKnown: true, Available: o.Available})
		}
		out = append(out, it)
	}
	return out
}

// describeCatalogTypes is catalogTypes backwards, for the test that the
// loader loses nothing the solver uses; requirements are not kept by
// Tailor, so they are taken from the file they came from.
func describeCatalogTypes(source string, types []*catalog.InstanceType, reqs map[string][]corev1.NodeSelectorRequirement) *typesFile {
	f := &typesFile{Source: source}
	for _, it := range types {
		t := instanceType{
			Name:         it.Name,
			Capacity:     it.Capacity,
			Overhead:     overhead{KubeReserved: it.Overhead.KubeReserved, SystemReserved: it.Overhead.SystemReserved, EvictionThreshold: it.Overhead.EvictionThreshold},
			Allocatable:  it.Allocatable,
			Labels:       it.Labels,
			Requirements: reqs[it.Name],
		}
		for _, o := range it.Offerings {
			t.Offerings = append(t.Offerings, offering{Zone: o.Zone, CapacityType: o.CapacityType, Price: o.Price, Available: o.Available})
		}
		f.Types = append(f.Types, t)
	}
	return f
}

func copyMap(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}
