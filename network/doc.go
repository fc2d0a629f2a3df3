// Package network provisions the VPC the platform runs in: public and private
// subnets in two or three availability zones, an internet gateway, NAT
// (one gateway, or one per zone), per-zone private route tables and a free
// S3 gateway endpoint so model downloads from S3 never pay NAT data charges.
//
// Private subnets hold nodes and pods (the VPC CNI gives every pod a VPC
// address, hence the large private blocks); public subnets hold only NAT
// gateways and internet-facing load balancers. Subnets carry the tags that
// the AWS load balancer integration (kubernetes.io/role/elb,
// kubernetes.io/role/internal-elb) and Karpenter (karpenter.sh/discovery)
// use to find them.
package network
