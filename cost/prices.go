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
	NLBHourly             = 0.0225
	GP3PerGiBMonth        = 0.08
	S3StandardPerGBMonth  = 0.023
)

// InstanceHourly is the on-demand price of the instance types the
// platform's defaults use.
var InstanceHourly = map[string]float64{
	"m7i.large":   0.1008,
	"g6.xlarge":   0.8048,
	"g6.2xlarge":  0.9776,
	"g6.4xlarge":  1.3232,
	"g6.12xlarge": 4.6016,
}
