package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	launcheraws "github.com/tailor-project/tailor/launcher/aws"
	"github.com/tailor-project/tailor/launcher/catalog"
)

// offlineZones are the zones --offline offers when a pool names none.
var offlineZones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

type catalogOptions struct {
	files   []string
	offline bool
	output  string
}

func newCatalogCommand() *cobra.Command {
	o := &catalogOptions{}
	cmd := &cobra.Command{
		Use:   "catalog -f nodepool.yaml [-f ec2nodeclass.yaml] [--offline] [-o table|json]",
		Short: "List the instance types a NodePool allows, with what pods get on them and what they cost",
		Long: `List, for every NodePool in the given files, the instance types it allows: vCPU and
memory, what kubelet will leave allocatable to pods, max pods, and the cheapest hourly
price per capacity type. Nodes are sized with the EC2NodeClass the pool references when a
file defines it, and with the AL2023 defaults otherwise.

Without --offline the types, zones and prices come from EC2 and the Pricing API through the
standard AWS configuration (credentials, AWS_REGION, AWS_ENDPOINT_URL...). With --offline
they come from the facts compiled into tailor: us-east-1 on-demand prices, zones
us-east-1a, b and c unless the pool names its zones, and no spot prices, which show as
unknown.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringArrayVarP(&o.files, "filename", "f", nil, "file with NodePools and EC2NodeClasses (repeatable)")
	cmd.Flags().BoolVar(&o.offline, "offline", false, "use the facts compiled into tailor instead of AWS")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	return cmd
}

// poolTypes is the answer for one NodePool.
type poolTypes struct {
	pool  *karpv1.NodePool
	class *ec2v1.EC2NodeClass
	types []*catalog.InstanceType
}

func (o *catalogOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	if o.output != "table" && o.output != "json" {
		return fmt.Errorf("unknown output format %q: use table or json", o.output)
	}
	if len(o.files) == 0 {
		return errors.New("no files: give at least one -f with a NodePool")
	}
	pools, classes, err := readManifests(o.files)
	if err != nil {
		return err
	}
	if len(pools) == 0 {
		return fmt.Errorf("no NodePool in %s", strings.Join(o.files, ", "))
	}

	var online catalog.Catalog
	if !o.offline {
		if online, err = newOnlineCatalog(ctx); err != nil {
			return err
		}
	}
	var results []poolTypes
	for _, np := range pools {
		class := classFor(np, classes, stderr)
		cat := online
		if o.offline {
			if cat, err = newOfflineCatalog(np, stderr); err != nil {
				return err
			}
		}
		types, err := cat.InstanceTypes(ctx, np, class)
		if err != nil {
			return fmt.Errorf("NodePool %s: %w", np.Name, err)
		}
		results = append(results, poolTypes{pool: np, class: class, types: types})
	}

	if o.output == "json" {
		return printJSON(stdout, results)
	}
	return printTables(stdout, results, o.offline)
}

// readManifests reads NodePools and EC2NodeClasses from YAML files, one or
// more documents each. Anything else is an error: a file given to this
// command that holds something else is most likely the wrong file.
func readManifests(files []string) ([]*karpv1.NodePool, map[string]*ec2v1.EC2NodeClass, error) {
	var pools []*karpv1.NodePool
	classes := map[string]*ec2v1.EC2NodeClass{}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, fmt.Errorf("reading manifests: %w", err)
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
		for doc := 1; ; doc++ {
			data, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, nil, fmt.Errorf("%s: document %d: %w", file, doc, err)
			}
			if len(bytes.TrimSpace(data)) == 0 {
				continue
			}
			where := fmt.Sprintf("%s: document %d", file, doc)
			var meta metav1.TypeMeta
			if err := yaml.Unmarshal(data, &meta); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", where, err)
			}
			switch meta.GroupVersionKind() {
			case karpv1.GroupVersion.WithKind("NodePool"):
				np := &karpv1.NodePool{}
				if err := yaml.UnmarshalStrict(data, np); err != nil {
					return nil, nil, fmt.Errorf("%s: NodePool: %w", where, err)
				}
				pools = append(pools, np)
			case ec2v1.GroupVersion.WithKind("EC2NodeClass"):
				nc := &ec2v1.EC2NodeClass{}
				if err := yaml.UnmarshalStrict(data, nc); err != nil {
					return nil, nil, fmt.Errorf("%s: EC2NodeClass: %w", where, err)
				}
				classes[nc.Name] = nc
			default:
				return nil, nil, fmt.Errorf("%s is %s %q, not a %s NodePool or a %s EC2NodeClass",
					where, orUnknown(meta.APIVersion), orUnknown(meta.Kind), karpv1.GroupVersion, ec2v1.GroupVersion)
			}
		}
	}
	return pools, classes, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// classFor returns the pool's EC2NodeClass, or nil with a warning when the
// files do not define it: the catalog then sizes nodes with the defaults.
func classFor(np *karpv1.NodePool, classes map[string]*ec2v1.EC2NodeClass, stderr io.Writer) *ec2v1.EC2NodeClass {
	ref := np.Spec.Template.Spec.NodeClassRef
	if ref == nil {
		fmt.Fprintf(stderr, "warning: NodePool %s references no EC2NodeClass; sizing nodes with the %s defaults\n", np.Name, catalog.DefaultAMIFamily)
		return nil
	}
	if nc, ok := classes[ref.Name]; ok {
		return nc
	}
	fmt.Fprintf(stderr, "warning: NodePool %s references EC2NodeClass %s, which no -f file defines; sizing nodes with the %s defaults\n", np.Name, ref.Name, catalog.DefaultAMIFamily)
	return nil
}

func newOnlineCatalog(ctx context.Context) (catalog.Catalog, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	cfg.HTTPClient = launcheraws.LoopbackSafe(cfg.HTTPClient)
	ec2Client, pricingClient := launcheraws.NewClients(cfg, launcheraws.Endpoints{})
	source, err := launcheraws.NewSource(ec2Client, pricingClient, launcheraws.Options{Region: cfg.Region})
	if err != nil {
		return nil, err
	}
	return catalog.New(source, catalog.Options{})
}

// newOfflineCatalog serves the compiled-in facts in the zones the pool
// names with In, or in offlineZones. Zone ids are account-specific and stay
// unknown.
func newOfflineCatalog(np *karpv1.NodePool, stderr io.Writer) (catalog.Catalog, error) {
	names := offlineZones
	for _, r := range np.Spec.Template.Spec.Requirements {
		if r.Key == wellknown.ZoneLabel && r.Operator == corev1.NodeSelectorOpIn {
			names = r.Values
		}
	}
	zones := make([]catalog.Zone, 0, len(names))
	for _, name := range names {
		if !strings.HasPrefix(name, catalog.StaticRegion) {
			fmt.Fprintf(stderr, "warning: NodePool %s: zone %s is outside %s, whose prices --offline shows\n", np.Name, name, catalog.StaticRegion)
		}
		zones = append(zones, catalog.Zone{Name: name})
	}
	return catalog.New(catalog.NewStaticSource(zones), catalog.Options{})
}

func printTables(w io.Writer, results []poolTypes, offline bool) error {
	for i, r := range results {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "NodePool %s (%s): %d instance types\n", r.pool.Name, classLabel(r.class), len(r.types))
		if len(r.types) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tVCPU\tMEMORY\tALLOCATABLE CPU\tALLOCATABLE MEMORY\tMAX PODS\tON-DEMAND $/H\tSPOT $/H")
		for _, it := range r.types {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n",
				it.Name, it.Info.VCPU, mebibytes(it.Info.MemoryMiB),
				quantity(it.Allocatable, corev1.ResourceCPU), quantity(it.Allocatable, corev1.ResourceMemory),
				quantity(it.Allocatable, corev1.ResourcePods),
				priceCell(it.Offerings, wellknown.CapacityTypeOnDemand), priceCell(it.Offerings, wellknown.CapacityTypeSpot))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if offline {
		fmt.Fprintln(w, "\nOffline: us-east-1 on-demand prices compiled into tailor; spot prices are unknown offline.")
	}
	return nil
}

func classLabel(nc *ec2v1.EC2NodeClass) string {
	if nc == nil {
		return "EC2NodeClass defaults"
	}
	return "EC2NodeClass " + nc.Name
}

func mebibytes(mib int64) string {
	return resource.NewQuantity(mib<<20, resource.BinarySI).String()
}

func quantity(list corev1.ResourceList, name corev1.ResourceName) string {
	q := list[name]
	return q.String()
}

// priceCell is the cheapest available price of a capacity type: "-" when the
// pool offers none, "unknown" when the catalog has no price for it.
func priceCell(offerings catalog.Offerings, capacityType string) string {
	o, ok := offerings.Cheapest(capacityType)
	switch {
	case !ok:
		return "-"
	case !o.PriceKnown:
		return "unknown"
	}
	return fmt.Sprintf("%.4f", o.Price)
}

// jsonPool, jsonType and jsonPrice are the JSON output. A price the catalog
// does not know is null, never a guess.
type jsonPool struct {
	NodePool      string     `json:"nodePool"`
	EC2NodeClass  string     `json:"ec2NodeClass,omitempty"`
	InstanceTypes []jsonType `json:"instanceTypes"`
}

type jsonType struct {
	Name        string               `json:"name"`
	VCPU        int32                `json:"vcpu"`
	MemoryMiB   int64                `json:"memoryMiB"`
	Allocatable corev1.ResourceList  `json:"allocatable"`
	MaxPods     int64                `json:"maxPods"`
	Cheapest    map[string]jsonPrice `json:"cheapest"`
}

type jsonPrice struct {
	Zone         string   `json:"zone"`
	PricePerHour *float64 `json:"pricePerHour"`
}

func printJSON(w io.Writer, results []poolTypes) error {
	out := make([]jsonPool, 0, len(results))
	for _, r := range results {
		p := jsonPool{NodePool: r.pool.Name, InstanceTypes: []jsonType{}}
		if r.class != nil {
			p.EC2NodeClass = r.class.Name
		}
		for _, it := range r.types {
			pods := it.Allocatable[corev1.ResourcePods]
			t := jsonType{
				Name:        it.Name,
				VCPU:        it.Info.VCPU,
				MemoryMiB:   it.Info.MemoryMiB,
				Allocatable: it.Allocatable,
				MaxPods:     pods.Value(),
				Cheapest:    map[string]jsonPrice{},
			}
			for _, ct := range []string{wellknown.CapacityTypeOnDemand, wellknown.CapacityTypeSpot} {
				if o, ok := it.Offerings.Cheapest(ct); ok {
					price := jsonPrice{Zone: o.Zone}
					if o.PriceKnown {
						price.PricePerHour = &o.Price
					}
					t.Cheapest[ct] = price
				}
			}
			p.InstanceTypes = append(p.InstanceTypes, t)
		}
		out = append(out, p)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
