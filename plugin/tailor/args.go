package tailor

import (
	"fmt"
	"net/url"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
)

// TailorArgs configure the plugin, in the profile's pluginConfig:
//
//	pluginConfig:
//	- name: Tailor
//	  args:
//	    clusterName: my-cluster
//	    batchIdleDuration: 1s
//	    batchMaxDuration: 10s
//	    catalog: {source: aws, region: us-east-1}
type TailorArgs struct {
	metav1.TypeMeta `json:",inline"`

	// ClusterName is the cluster's name, as the launcher tags instances
	// with it. Required.
	ClusterName string `json:"clusterName,omitempty"`
	// BatchIdleDuration closes a batch once no pod joined it for this long,
	// so pods created together are packed together. Default 1s.
	BatchIdleDuration *metav1.Duration `json:"batchIdleDuration,omitempty"`
	// BatchMaxDuration closes a batch this long after it opened even if pods
	// keep coming. Default 10s.
	BatchMaxDuration *metav1.Duration `json:"batchMaxDuration,omitempty"`
	// ProvisionBeforePreemption buys capacity before DefaultPreemption may
	// evict lower-priority pods; see the package doc. Default false.
	ProvisionBeforePreemption *bool `json:"provisionBeforePreemption,omitempty"`
	// Catalog says where instance types and prices come from.
	Catalog CatalogArgs `json:"catalog,omitempty"`
}

// CatalogArgs choose the instance-type catalog.
type CatalogArgs struct {
	// Source is "aws" (EC2 and the Pricing API through the standard SDK
	// configuration, default) or "static" (the compiled-in facts, on-demand
	// prices of us-east-1 only).
	Source string `json:"source,omitempty"`
	// Region of the EC2 API; the SDK's default chain when empty.
	Region string `json:"region,omitempty"`
	// Endpoint overrides the URL of the EC2 and Pricing APIs, for the EC2
	// simulator; AWS_ENDPOINT_URL works too.
	Endpoint string `json:"endpoint,omitempty"`
	// Zones the static catalog offers types in; required for "static".
	Zones []string `json:"zones,omitempty"`
}

// Catalog sources.
const (
	CatalogSourceAWS    = "aws"
	CatalogSourceStatic = "static"
)

// SetDefaults fills in what the args leave out.
func SetDefaults(args *TailorArgs) {
	if args.BatchIdleDuration == nil {
		args.BatchIdleDuration = &metav1.Duration{Duration: time.Second}
	}
	if args.BatchMaxDuration == nil {
		args.BatchMaxDuration = &metav1.Duration{Duration: 10 * time.Second}
	}
	if args.ProvisionBeforePreemption == nil {
		f := false
		args.ProvisionBeforePreemption = &f
	}
	if args.Catalog.Source == "" {
		args.Catalog.Source = CatalogSourceAWS
	}
}

// Validate checks defaulted args; errors name the field.
func Validate(path *field.Path, args *TailorArgs) error {
	var errs field.ErrorList
	if args.ClusterName == "" {
		errs = append(errs, field.Required(path.Child("clusterName"), "the name the launcher tags the cluster's instances with"))
	}
	idle, max := args.BatchIdleDuration.Duration, args.BatchMaxDuration.Duration
	if idle <= 0 {
		errs = append(errs, field.Invalid(path.Child("batchIdleDuration"), idle.String(), "must be positive"))
	}
	if max <= 0 {
		errs = append(errs, field.Invalid(path.Child("batchMaxDuration"), max.String(), "must be positive"))
	} else if max < idle {
		errs = append(errs, field.Invalid(path.Child("batchMaxDuration"), max.String(), fmt.Sprintf("must not be shorter than batchIdleDuration (%s)", idle)))
	}
	cat := path.Child("catalog")
	switch args.Catalog.Source {
	case CatalogSourceAWS:
	case CatalogSourceStatic:
		if len(args.Catalog.Zones) == 0 {
			errs = append(errs, field.Required(cat.Child("zones"), "the static catalog needs the zones to offer instance types in"))
		}
	default:
		errs = append(errs, field.NotSupported(cat.Child("source"), args.Catalog.Source, []string{CatalogSourceAWS, CatalogSourceStatic}))
	}
	if e := args.Catalog.Endpoint; e != "" {
		if u, err := url.Parse(e); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, field.Invalid(cat.Child("endpoint"), e, "must be an absolute URL such as http://127.0.0.1:4566"))
		}
	}
	return errs.ToAggregate()
}

// decodeArgs reads the plugin's args as the framework hands them over: nil
// when the profile has none, *runtime.Unknown for an out-of-tree plugin,
// or already typed.
func decodeArgs(obj runtime.Object) (*TailorArgs, error) {
	args := &TailorArgs{}
	switch o := obj.(type) {
	case nil:
	case *TailorArgs:
		args = o.DeepCopy()
	default:
		if err := frameworkruntime.DecodeInto(obj, args); err != nil {
			return nil, fmt.Errorf("decoding the args of plugin %s: %w", Name, err)
		}
	}
	SetDefaults(args)
	if err := Validate(field.NewPath("pluginConfig").Key(Name).Child("args"), args); err != nil {
		return nil, fmt.Errorf("invalid args of plugin %s: %w", Name, err)
	}
	return args, nil
}

// DeepCopyObject implements runtime.Object.
func (in *TailorArgs) DeepCopyObject() runtime.Object { return in.DeepCopy() }

// DeepCopy returns a copy of the args.
func (in *TailorArgs) DeepCopy() *TailorArgs {
	out := *in
	if in.BatchIdleDuration != nil {
		d := *in.BatchIdleDuration
		out.BatchIdleDuration = &d
	}
	if in.BatchMaxDuration != nil {
		d := *in.BatchMaxDuration
		out.BatchMaxDuration = &d
	}
	if in.ProvisionBeforePreemption != nil {
		b := *in.ProvisionBeforePreemption
		out.ProvisionBeforePreemption = &b
	}
	out.Catalog.Zones = append([]string(nil), in.Catalog.Zones...)
	return &out
}
