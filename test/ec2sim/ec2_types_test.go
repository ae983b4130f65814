package ec2sim

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tailor-project/tailor/launcher/catalog"
)

// TestDescribeInstanceTypes pages through every type of the catalog and
// checks that the facts a launcher turns back into catalog.Info survive the
// round trip.
func TestDescribeInstanceTypes(t *testing.T) {
	s := startSim(t, Options{})
	c := ec2Client(s)
	ctx := context.Background()
	got := map[string]ec2types.InstanceTypeInfo{}
	pages := 0
	p := ec2.NewDescribeInstanceTypesPaginator(c, &ec2.DescribeInstanceTypesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		if len(page.InstanceTypes) > 100 {
			t.Fatalf("page of %d types, more than DescribeInstanceTypes' 100", len(page.InstanceTypes))
		}
		for _, it := range page.InstanceTypes {
			if _, dup := got[string(it.InstanceType)]; dup {
				t.Fatalf("%s came twice", it.InstanceType)
			}
			got[string(it.InstanceType)] = it
		}
	}
	infos := catalog.StaticInstanceTypes()
	if len(got) != len(infos) {
		t.Fatalf("paged %d types in %d pages, the catalog has %d", len(got), pages, len(infos))
	}
	for _, info := range infos {
		it := got[info.Name]
		if int32(aws.ToInt32(it.VCpuInfo.DefaultVCpus)) != info.VCPU || aws.ToInt64(it.MemoryInfo.SizeInMiB) != info.MemoryMiB {
			t.Errorf("%s: %d vCPU %d MiB, catalog says %d and %d", info.Name, aws.ToInt32(it.VCpuInfo.DefaultVCpus), aws.ToInt64(it.MemoryInfo.SizeInMiB), info.VCPU, info.MemoryMiB)
		}
		if aws.ToInt32(it.NetworkInfo.MaximumNetworkInterfaces) != info.ENIs || aws.ToInt32(it.NetworkInfo.Ipv4AddressesPerInterface) != info.IPv4PerENI {
			t.Errorf("%s: ENI limits %d x %d, catalog says %d x %d", info.Name, aws.ToInt32(it.NetworkInfo.MaximumNetworkInterfaces),
				aws.ToInt32(it.NetworkInfo.Ipv4AddressesPerInterface), info.ENIs, info.IPv4PerENI)
		}
		if arch := it.ProcessorInfo.SupportedArchitectures; len(arch) != 1 || string(arch[0]) != ec2Arch(info.Arch) {
			t.Errorf("%s: architectures %v, want %s", info.Name, arch, ec2Arch(info.Arch))
		}
		if strings.ToLower(aws.ToString(it.ProcessorInfo.Manufacturer)) != info.CPUManufacturer {
			t.Errorf("%s: manufacturer %q, want %s", info.Name, aws.ToString(it.ProcessorInfo.Manufacturer), info.CPUManufacturer)
		}
		if string(it.Hypervisor) != info.Hypervisor || aws.ToBool(it.BareMetal) != strings.HasPrefix(info.Size, "metal") {
			t.Errorf("%s: hypervisor %q bare metal %v", info.Name, it.Hypervisor, aws.ToBool(it.BareMetal))
		}
		if info.GPUName != "" {
			gpu := it.GpuInfo.Gpus[0]
			if strings.ReplaceAll(strings.ToLower(aws.ToString(gpu.Name)), " ", "-") != info.GPUName || aws.ToInt32(gpu.Count) != info.GPUCount ||
				aws.ToInt32(gpu.MemoryInfo.SizeInMiB) != int32(info.GPUMemoryMiB) || strings.ToLower(aws.ToString(gpu.Manufacturer)) != info.GPUManufacturer {
				t.Errorf("%s: GPU %+v, catalog says %s x%d %d MiB", info.Name, gpu, info.GPUName, info.GPUCount, info.GPUMemoryMiB)
			}
		}
		if info.NeuronDevices > 0 && aws.ToInt32(it.NeuronInfo.NeuronDevices[0].Count) != info.NeuronDevices {
			t.Errorf("%s: neuron devices %+v, want %d", info.Name, it.NeuronInfo, info.NeuronDevices)
		}
		if info.EFAs > 0 && aws.ToInt32(it.NetworkInfo.EfaInfo.MaximumEfaInterfaces) != info.EFAs {
			t.Errorf("%s: EFA %+v, want %d", info.Name, it.NetworkInfo.EfaInfo, info.EFAs)
		}
		if e := it.EbsInfo; aws.ToInt32(e.MaximumEbsAttachments) != info.EBS.MaxAttachments ||
			(e.AttachmentLimitType == ec2types.AttachmentLimitTypeDedicated) != info.EBS.Dedicated {
			t.Errorf("%s: EBS attachments %d %s, catalog says %+v", info.Name, aws.ToInt32(e.MaximumEbsAttachments), e.AttachmentLimitType, info.EBS)
		}
		if info.LocalNVMeGB > 0 && aws.ToInt64(it.InstanceStorageInfo.TotalSizeInGB) != info.LocalNVMeGB {
			t.Errorf("%s: local storage %d GB, want %d", info.Name, aws.ToInt64(it.InstanceStorageInfo.TotalSizeInGB), info.LocalNVMeGB)
		}
	}

	arm, err := c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{
		InstanceTypes: []ec2types.InstanceType{"m6g.large", "m5.large"},
		Filters:       []ec2types.Filter{{Name: aws.String("processor-info.supported-architecture"), Values: []string{"arm64"}}},
	})
	if err != nil || len(arm.InstanceTypes) != 1 || arm.InstanceTypes[0].InstanceType != "m6g.large" {
		t.Errorf("arm64 among m6g.large and m5.large: %v %+v", err, arm)
	}
	_, err = c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []ec2types.InstanceType{"m5.huge"}})
	wantAPIError(t, err, "InvalidInstanceType")
	_, err = c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{MaxResults: aws.Int32(1000)})
	wantAPIError(t, err, "InvalidParameterValue")
}

// TestDescribeInstanceTypeOfferings: every type in every zone, less what a
// NotOffered fault takes away.
func TestDescribeInstanceTypeOfferings(t *testing.T) {
	s := startSim(t, Options{Faults: Faults{NotOffered: []Pool{{InstanceType: "p5.48xlarge", Zone: "us-east-1c"}}}})
	c := ec2Client(s)
	ctx := context.Background()
	count := 0
	offered := map[string]bool{}
	p := ec2.NewDescribeInstanceTypeOfferingsPaginator(c, &ec2.DescribeInstanceTypeOfferingsInput{LocationType: ec2types.LocationTypeAvailabilityZone})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("DescribeInstanceTypeOfferings: %v", err)
		}
		for _, o := range page.InstanceTypeOfferings {
			count++
			offered[string(o.InstanceType)+"@"+aws.ToString(o.Location)] = true
		}
	}
	if want := 3*len(s.world.typeNames) - 1; count != want {
		t.Errorf("%d offerings, want %d (every type in 3 zones, less one)", count, want)
	}
	if offered["p5.48xlarge@us-east-1c"] || !offered["p5.48xlarge@us-east-1a"] || !offered["m5.large@us-east-1c"] {
		t.Errorf("the NotOffered fault is not reflected exactly")
	}
	byID, err := c.DescribeInstanceTypeOfferings(ctx, &ec2.DescribeInstanceTypeOfferingsInput{
		LocationType: ec2types.LocationTypeAvailabilityZoneId,
		Filters:      []ec2types.Filter{{Name: aws.String("instance-type"), Values: []string{"m5.large"}}},
	})
	if err != nil || len(byID.InstanceTypeOfferings) != 3 || !strings.HasPrefix(aws.ToString(byID.InstanceTypeOfferings[0].Location), "use1-az") {
		t.Errorf("m5.large by zone id: %v %+v", err, byID)
	}
}
