package tailor

import (
	"fmt"
	"net/url"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/tailor-project/tailor/plugin/preferences"
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
	// ReservationResyncPeriod is how often every reservation is checked
	// against its pod and claim, and the reservations recorded on claims
	// are adopted. Events settle most reservations at once; the resync
	// catches what an event missed, and keeps a standby replica's ledger
	// current for when it takes over. Default 30s.
	ReservationResyncPeriod *metav1.Duration `json:"reservationResyncPeriod,omitempty"`
	// DisruptionLease elects the one replica that runs the disruption loop.
	// kube-scheduler's own leader election covers scheduling only: the
	// disruption loop runs beside it and takes its own Lease, so two
	// replicas never remove nodes at once, during a rolling update too.
	DisruptionLease LeaseArgs `json:"disruptionLease,omitempty"`
	// Consolidation tunes how the disruption loop replaces and removes
	// underused nodes.
	Consolidation ConsolidationArgs `json:"consolidation,omitempty"`
	// PreferencePolicy says whether pods' preferences decide what is
	// bought, as Karpenter's --preference-policy: Respect plans preferred
	// affinity, anti-affinity and ScheduleAnyway spreads as required, and
	// gives them up one at a time for a pod that cannot be placed so;
	// Ignore plans requirements only. Default Respect.
	PreferencePolicy string `json:"preferencePolicy,omitempty"`
	// CostEfficiencyInterval is how often the disruption loop measures the
	// fleet's price against a fresh plan for its pods (the
	// tailor_fleet_cost_efficiency metric). A measurement is a solve as
	// large as the fleet. 0 never measures. Default 5m.
	CostEfficiencyInterval *metav1.Duration `json:"costEfficiencyInterval,omitempty"`
}

// ConsolidationArgs tune consolidation.
type ConsolidationArgs struct {
	// MinSavings is the least share of the replaced nodes' price a
	// replacement must save, 0 to 1, so that a cent's difference does not
	// churn the fleet. Default 0.05.
	MinSavings *float64 `json:"minSavings,omitempty"`
	// ValidationPeriod is how long a decision waits before it is checked
	// again and carried out, so a node that just lost its pods for a moment
	// is not acted on. Default 15s, as Karpenter's.
	ValidationPeriod *metav1.Duration `json:"validationPeriod,omitempty"`
}

// LeaseArgs name a Lease and its timing, as kube-scheduler's leaderElection
// does.
type LeaseArgs struct {
	// Namespace of the Lease. Default kube-system.
	Namespace string `json:"namespace,omitempty"`
	// Name of the Lease. Default tailor-disruption.
	Name string `json:"name,omitempty"`
	// LeaseDuration is how long a standby waits after the last renewal
	// before it takes over. Default 15s.
	LeaseDuration *metav1.Duration `json:"leaseDuration,omitempty"`
	// RenewDeadline is how long the holder keeps trying to renew before it
	// stops disrupting. Default 10s.
	RenewDeadline *metav1.Duration `json:"renewDeadline,omitempty"`
	// RetryPeriod is how often the Lease is tried. Default 2s.
	RetryPeriod *metav1.Duration `json:"retryPeriod,omitempty"`
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
	if args.ReservationResyncPeriod == nil {
		args.ReservationResyncPeriod = &metav1.Duration{Duration: 30 * time.Second}
	}
	if args.Consolidation.MinSavings == nil {
		m := 0.05
		args.Consolidation.MinSavings = &m
	}
	if args.Consolidation.ValidationPeriod == nil {
		args.Consolidation.ValidationPeriod = &metav1.Duration{Duration: 15 * time.Second}
	}
	if args.PreferencePolicy == "" {
		args.PreferencePolicy = string(preferences.Respect)
	}
	if args.CostEfficiencyInterval == nil {
		args.CostEfficiencyInterval = &metav1.Duration{Duration: 5 * time.Minute}
	}
	l := &args.DisruptionLease
	if l.Namespace == "" {
		l.Namespace = metav1.NamespaceSystem
	}
	if l.Name == "" {
		l.Name = "tailor-disruption"
	}
	for _, d := range []struct {
		field **metav1.Duration
		def   time.Duration
	}{{&l.LeaseDuration, 15 * time.Second}, {&l.RenewDeadline, 10 * time.Second}, {&l.RetryPeriod, 2 * time.Second}} {
		if *d.field == nil {
			*d.field = &metav1.Duration{Duration: d.def}
		}
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
	if d := args.ReservationResyncPeriod.Duration; d <= 0 {
		errs = append(errs, field.Invalid(path.Child("reservationResyncPeriod"), d.String(), "must be positive"))
	}
	errs = append(errs, validateLease(path.Child("disruptionLease"), &args.DisruptionLease)...)
	cons := path.Child("consolidation")
	if m := *args.Consolidation.MinSavings; m < 0 || m > 1 {
		errs = append(errs, field.Invalid(cons.Child("minSavings"), m, "must be between 0 and 1: a share of the replaced nodes' price"))
	}
	if d := args.Consolidation.ValidationPeriod.Duration; d < 0 {
		errs = append(errs, field.Invalid(cons.Child("validationPeriod"), d.String(), "must not be negative"))
	}
	switch preferences.Policy(args.PreferencePolicy) {
	case preferences.Respect, preferences.Ignore:
	default:
		errs = append(errs, field.NotSupported(path.Child("preferencePolicy"), args.PreferencePolicy, []string{string(preferences.Respect), string(preferences.Ignore)}))
	}
	if d := args.CostEfficiencyInterval.Duration; d < 0 {
		errs = append(errs, field.Invalid(path.Child("costEfficiencyInterval"), d.String(), "must not be negative: 0 never measures"))
	}
	return errs.ToAggregate()
}

// validateLease checks what client-go's leader election would refuse, so the
// scheduler fails at start with the field named instead of later.
func validateLease(path *field.Path, l *LeaseArgs) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(l.Namespace) {
		errs = append(errs, field.Invalid(path.Child("namespace"), l.Namespace, msg))
	}
	for _, msg := range validation.IsDNS1123Subdomain(l.Name) {
		errs = append(errs, field.Invalid(path.Child("name"), l.Name, msg))
	}
	lease, renew, retry := l.LeaseDuration.Duration, l.RenewDeadline.Duration, l.RetryPeriod.Duration
	switch {
	case retry <= 0:
		errs = append(errs, field.Invalid(path.Child("retryPeriod"), retry.String(), "must be positive"))
	case renew <= retry:
		errs = append(errs, field.Invalid(path.Child("renewDeadline"), renew.String(), fmt.Sprintf("must be longer than retryPeriod (%s)", retry)))
	case lease <= renew:
		errs = append(errs, field.Invalid(path.Child("leaseDuration"), lease.String(), fmt.Sprintf("must be longer than renewDeadline (%s)", renew)))
	}
	return errs
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
	out.ReservationResyncPeriod = copyDuration(in.ReservationResyncPeriod)
	out.DisruptionLease.LeaseDuration = copyDuration(in.DisruptionLease.LeaseDuration)
	out.DisruptionLease.RenewDeadline = copyDuration(in.DisruptionLease.RenewDeadline)
	out.DisruptionLease.RetryPeriod = copyDuration(in.DisruptionLease.RetryPeriod)
	if in.Consolidation.MinSavings != nil {
		m := *in.Consolidation.MinSavings
		out.Consolidation.MinSavings = &m
	}
	out.Consolidation.ValidationPeriod = copyDuration(in.Consolidation.ValidationPeriod)
	out.CostEfficiencyInterval = copyDuration(in.CostEfficiencyInterval)
	return &out
}

func copyDuration(d *metav1.Duration) *metav1.Duration {
	if d == nil {
		return nil
	}
	c := *d
	return &c
}
