// Package v1 holds the karpenter.k8s.aws/v1 API: EC2NodeClass, how a node is
// built on EC2 (AMI, subnets, security groups, instance profile, block devices,
// metadata options, kubelet settings, user data). The type is Karpenter's
// field for field.
//
// +kubebuilder:object:generate=true
// +groupName=karpenter.k8s.aws
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of the types in this package.
	GroupVersion = schema.GroupVersion{Group: "karpenter.k8s.aws", Version: "v1"}

	// SchemeBuilder registers the types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types in this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
