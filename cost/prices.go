package cost

// Prices in USD for us-east-1, on-demand, checked November 2026. Sources:
// AWS pricing pages for Amazon EKS (control plane, standard support), Amazon
// VPC (NAT gateway), Amazon EC2 On-Demand (m7i, g6), Amazon EBS (gp3),
// Elastic Load Balancing (Network Load Balancer) and Amazon S3 (Standard),
// as recorded in the team's platform facts. Prices not listed here (S3
// Files, data transfer, NAT and load balancer data processing, spot) are
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
)

// InstanceHourly is the on-demand price of the system node default and of
// every GPU instance the config accepts (config.GPUsPerInstance; a test
// keeps the two in step). The g6/gr6 prices match Karpenter's generated
// us-east-1 on-demand table (pkg/providers/pricing/zz_generated.pricing_aws.go,
// generated 2026-07-06 from the AWS Price List API).
var InstanceHourly = map[string]float64{
	"m7i.large":   0.1008,
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
