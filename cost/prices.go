package cost

import "math"

// Prices in USD for us-east-1, on-demand, checked November 2026. Sources:
// AWS pricing pages for Amazon EKS (control plane, standard support), Amazon
// VPC (NAT gateway), Amazon EC2 On-Demand (m7i, g6), Amazon EBS (gp3),
// Elastic Load Balancing (Network Load Balancer), Amazon S3 (Standard) and
// AWS PrivateLink (interface endpoints), as recorded in the team's platform
// facts. Prices not listed here (S3 Files, data transfer, NAT, load
// balancer and endpoint data processing, hosted models' tokens, spot) are
// not estimated.
const (
	PricesDate   = "2026-11"
	PricesRegion = "us-east-1"

	HoursPerMonth = 730.0

	EKSControlPlaneHourly = 0.10
	NATGatewayHourly      = 0.045
	// PublicIPv4Hourly is charged for every public IPv4 address, in use
	// or idle, since February 2024 (Amazon VPC pricing): each NAT
	// gateway's Elastic IP.
	PublicIPv4Hourly = 0.005
	NLBHourly        = 0.0225
	GP3PerGiBMonth   = 0.08
	// gp3 includes 3,000 IOPS and 125 MiB/s; more is billed per month
	// (Amazon EBS pricing): the GPU nodes' data volume under SOCI parallel
	// pull provisions more.
	GP3IncludedIOPS            = 3000
	GP3PerIOPSMonth            = 0.005
	GP3IncludedThroughputMiBps = 125
	GP3PerMiBpsMonth           = 0.040
	S3StandardPerGBMonth       = 0.023
	// InterfaceEndpointAZHourly is an interface VPC endpoint's charge for
	// each zone it has a network interface in, billed while it exists,
	// traffic or not (AWS PrivateLink pricing, interface endpoints, checked
	// 2026-11: $0.01 per VPC endpoint per AZ-hour in us-east-1). Its data
	// processing, InterfaceEndpointPerGB (the first PB a month in the
	// region), depends on traffic and is only named in a note.
	InterfaceEndpointAZHourly = 0.01
	InterfaceEndpointPerGB    = 0.01
)

// InstanceHourly is the on-demand price of the system node and platform
// pool instance types the estimate knows, and of every GPU instance the
// config accepts (config.GPUsPerInstance; a test keeps the two in step).
// All match Karpenter's generated us-east-1 on-demand table (tests/crd
// compares them) (pkg/providers/pricing/zz_generated.pricing_aws.go,
// generated 2026-07-06 from the AWS Price List API).
var InstanceHourly = map[string]float64{
	// System node group (t4g) and platform pool (m7g, m8g, m7i) types.
	"t4g.small":   0.0168,
	"t4g.medium":  0.0336,
	"t4g.large":   0.0672,
	"m7g.large":   0.0816,
	"m7g.xlarge":  0.1632,
	"m7g.2xlarge": 0.3264,
	"m8g.large":   0.08976,
	"m8g.xlarge":  0.17952,
	"m8g.2xlarge": 0.35904,
	"m7i.large":   0.1008,
	"m7i.xlarge":  0.2016,
	"m7i.2xlarge": 0.4032,
	"g6.xlarge":   0.8048,
	"g6.2xlarge":  0.9776,
	"g6.4xlarge":  1.3232,
	"g6.8xlarge":  2.0144,
	"g6.12xlarge": 4.6016,
	"g6.16xlarge": 3.3968,
	"g6.24xlarge": 6.6752,
	"g6.48xlarge": 13.3504,
	"gr6.4xlarge": 1.5392,
	"gr6.8xlarge": 2.4464,
}

// Instance is what the estimate needs to know of a CPU instance type to
// pack pods on it.
type Instance struct {
	VCPUs     int
	MemoryGiB int
	// MaxPods is what the VPC CNI allows without prefix delegation:
	// network interfaces x (IPv4 addresses per interface - 1) + 2
	// (Karpenter v1.14.1 pkg/providers/instancetype/zz_generated.vpclimits.go;
	// tests/crd recomputes it from there).
	MaxPods int
}

// Instances are the CPU instance types the estimate can pack pods on.
var Instances = map[string]Instance{
	"t4g.small":   {2, 2, 11},
	"t4g.medium":  {2, 4, 17},
	"t4g.large":   {2, 8, 35},
	"m7g.large":   {2, 8, 29},
	"m7g.xlarge":  {4, 16, 58},
	"m7g.2xlarge": {8, 32, 58},
	"m8g.large":   {2, 8, 29},
	"m8g.xlarge":  {4, 16, 58},
	"m8g.2xlarge": {8, 32, 58},
	"m7i.large":   {2, 8, 29},
	"m7i.xlarge":  {4, 16, 58},
	"m7i.2xlarge": {8, 32, 58},
}

// Allocatable is what a Bottlerocket node of the type offers pods, the way
// Karpenter computes it when it sizes a node (v1.14.1
// pkg/providers/instancetype/types.go): memory less Karpenter's 7.5% VM
// overhead, Bottlerocket's kube-reserved memory (11 MiB per pod + 255 MiB)
// and the kubelet's 100 MiB eviction threshold; CPU less kube-reserved
// (60m for the first core, 10m for the second, 5m for the third and
// fourth, 2.5m for each above).
func (i Instance) Allocatable() (cpuMilli, memoryMiB int) {
	reserved := 0.0
	for core := 1; core <= i.VCPUs; core++ {
		switch {
		case core == 1:
			reserved += 60
		case core == 2:
			reserved += 10
		case core <= 4:
			reserved += 5
		default:
			reserved += 2.5
		}
	}
	capacity := float64(i.MemoryGiB*1024) * (1 - 0.075)
	return i.VCPUs*1000 - int(math.Ceil(reserved)), int(capacity) - (11*i.MaxPods + 255) - 100
}
