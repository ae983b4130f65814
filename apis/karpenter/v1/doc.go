// Package v1 holds the karpenter.sh/v1 API that Tailor serves: NodePool, the
// template and limits of a group of nodes, and NodeClaim, one node that the
// scheduler plugin asked for and the launcher brings to life. The types are
// Karpenter's field for field, so manifests written for Karpenter apply
// unchanged.
//
// +kubebuilder:object:generate=true
// +groupName=karpenter.sh
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of the types in this package.
	GroupVersion = schema.GroupVersion{Group: "karpenter.sh", Version: "v1"}

	// SchemeBuilder registers the types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types in this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
