package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	corev1 "k8s.io/api/core/v1"

	v1 "sigs.k8s.io/karpenter/pkg/apis/v1"
	"sigs.k8s.io/karpenter/pkg/cloudprovider"
)

// The types file is how Tailor's side of the comparison gets the very
// instance types Karpenter solved with, as Karpenter computes them. Tailor
// reads it in hack/bench/typesfile.go, which declares the same format: the
// two modules cannot share a Go type, as Tailor pins Kubernetes libraries
// older than Karpenter's.

// typesFile is the file's top level.
type typesFile struct {
	// Source says where the types come from.
	Source string         `json:"source"`
	Types  []instanceType `json:"types"`
}

// instanceType is one type as Karpenter sees it.
type instanceType struct {
	Name        string              `json:"name"`
	Capacity    corev1.ResourceList `json:"capacity"`
	Overhead    overhead            `json:"overhead"`
	Allocatable corev1.ResourceList `json:"allocatable"`
	// Labels are the requirements with exactly one value (In, one value),
	// but for zone and capacity type, which belong to the offering: the
	// labels a node of the type is sure to carry.
	Labels map[string]string `json:"labels"`
	// Requirements are all of the type's requirements, multi-valued and
	// DoesNotExist ones included, sorted by key, for the record.
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

// describeTypes turns Karpenter's instance types into the file's form.
func describeTypes(types []*cloudprovider.InstanceType) (*typesFile, error) {
	f := &typesFile{Source: fmt.Sprintf("sigs.k8s.io/karpenter %s pkg/cloudprovider/fake.InstanceTypes(%d)", karpenterVersion, len(types))}
	for _, it := range types {
		d := instanceType{
			Name:        it.Name,
			Capacity:    it.Capacity,
			Allocatable: it.Allocatable(),
			Labels:      map[string]string{},
		}
		if it.Overhead != nil {
			d.Overhead = overhead{KubeReserved: it.Overhead.KubeReserved, SystemReserved: it.Overhead.SystemReserved, EvictionThreshold: it.Overhead.EvictionThreshold}
		}
		for _, r := range it.Requirements.NodeSelectorRequirements() {
			values := append([]string(nil), r.Values...)
			sort.Strings(values)
			d.Requirements = append(d.Requirements, corev1.NodeSelectorRequirement{Key: r.Key, Operator: r.Operator, Values: values})
			if r.Operator == corev1.NodeSelectorOpIn && len(r.Values) == 1 && r.Key != corev1.LabelTopologyZone && r.Key != v1.CapacityTypeLabelKey {
				d.Labels[r.Key] = r.Values[0]
			}
		}
		sort.Slice(d.Requirements, func(i, j int) bool { return d.Requirements[i].Key < d.Requirements[j].Key })
		for _, o := range it.Offerings {
			if len(o.Requirements.Keys()) != 2 || o.ReservationCapacity != 0 {
				return nil, fmt.Errorf("type %s: an offering other than a zone and a capacity type: %s", it.Name, o.Requirements)
			}
			d.Offerings = append(d.Offerings, offering{Zone: o.Zone(), CapacityType: o.CapacityType(), Price: o.Price, Available: o.Available})
		}
		f.Types = append(f.Types, d)
	}
	return f, nil
}

// writeTypes writes the types file.
func writeTypes(path string, types []*cloudprovider.InstanceType) error {
	f, err := describeTypes(types)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return fmt.Errorf("encoding the instance types: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the instance types: %w", err)
	}
	return nil
}
