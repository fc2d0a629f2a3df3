package network

import (
	"fmt"
	"net/netip"
)

// SubnetPlan is the address layout of the VPC, one private and one public
// subnet per availability zone, in zone order.
type SubnetPlan struct {
	Private []string
	Public  []string
}

// MaxZones is the most zones the layout below has room for.
const MaxZones = 3

// CarveSubnets splits the VPC CIDR into quarters: the first azCount quarters
// are the private subnets (a /18 each for a /16 VPC: nodes and pods), and the
// last quarter is cut into eighths, the first azCount of which are the public
// subnets (a /21 each for a /16: NAT gateways and load balancers only). The
// unused quarter and eighths are left for later growth. The layout depends
// only on its inputs, so the same config always yields the same subnets.
func CarveSubnets(cidr string, azCount int) (SubnetPlan, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return SubnetPlan{}, fmt.Errorf("network CIDR %q: %w", cidr, err)
	}
	if !p.Addr().Is4() || p.Masked() != p {
		return SubnetPlan{}, fmt.Errorf("network CIDR %q: must be an IPv4 network address", cidr)
	}
	// Public subnets are 5 bits longer than the VPC; keep them at /24 or
	// larger so each can hold NAT and load balancer interfaces.
	if p.Bits() > 20 {
		return SubnetPlan{}, fmt.Errorf("network CIDR %q: prefix longer than /20 leaves public subnets too small", cidr)
	}
	if p.Bits() < 8 {
		return SubnetPlan{}, fmt.Errorf("network CIDR %q: prefix shorter than /8", cidr)
	}
	if azCount < 1 || azCount > MaxZones {
		return SubnetPlan{}, fmt.Errorf("zone count %d: must be between 1 and %d", azCount, MaxZones)
	}
	base := ipv4ToUint(p.Addr())
	quarter := uint32(1) << (32 - p.Bits() - 2)
	eighth := quarter / 8
	plan := SubnetPlan{}
	for i := range azCount {
		priv := netip.PrefixFrom(uintToIPv4(base+uint32(i)*quarter), p.Bits()+2)
		pub := netip.PrefixFrom(uintToIPv4(base+3*quarter+uint32(i)*eighth), p.Bits()+5)
		plan.Private = append(plan.Private, priv.String())
		plan.Public = append(plan.Public, pub.String())
	}
	return plan, nil
}

func ipv4ToUint(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func uintToIPv4(u uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
}
