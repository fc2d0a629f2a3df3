package network

import (
	"net/netip"
	"slices"
	"testing"
)

func TestCarveSubnets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cidr    string
		azs     int
		private []string
		public  []string
		wantErr bool
	}{
		{name: "/16 three zones", cidr: "10.0.0.0/16", azs: 3,
			private: []string{"10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18"},
			public:  []string{"10.0.192.0/21", "10.0.200.0/21", "10.0.208.0/21"}},
		{name: "/16 two zones", cidr: "10.20.0.0/16", azs: 2,
			private: []string{"10.20.0.0/18", "10.20.64.0/18"},
			public:  []string{"10.20.192.0/21", "10.20.200.0/21"}},
		{name: "/20 three zones", cidr: "172.16.16.0/20", azs: 3,
			private: []string{"172.16.16.0/22", "172.16.20.0/22", "172.16.24.0/22"},
			public:  []string{"172.16.28.0/25", "172.16.28.128/25", "172.16.29.0/25"}},
		{name: "/17 one zone", cidr: "192.168.0.0/17", azs: 1,
			private: []string{"192.168.0.0/19"}, public: []string{"192.168.96.0/22"}},
		{name: "four zones do not fit", cidr: "10.0.0.0/16", azs: 4, wantErr: true},
		{name: "zero zones", cidr: "10.0.0.0/16", azs: 0, wantErr: true},
		{name: "/21 too small", cidr: "10.0.0.0/21", azs: 2, wantErr: true},
		{name: "host bits", cidr: "10.0.0.1/16", azs: 2, wantErr: true},
		{name: "ipv6", cidr: "fd00::/48", azs: 2, wantErr: true},
		{name: "garbage", cidr: "ten.zero/16", azs: 2, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plan, err := CarveSubnets(tt.cidr, tt.azs)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("CarveSubnets(%q, %d) = %+v, want error", tt.cidr, tt.azs, plan)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(plan.Private, tt.private) || !slices.Equal(plan.Public, tt.public) {
				t.Fatalf("CarveSubnets(%q, %d) = %+v, want private %v public %v", tt.cidr, tt.azs, plan, tt.private, tt.public)
			}
		})
	}
}

// Every subnet lies inside the VPC and no two subnets overlap, for every
// prefix length and zone count the config accepts.
func TestCarveSubnetsDisjointAndContained(t *testing.T) {
	t.Parallel()
	for bits := 16; bits <= 20; bits++ {
		for azs := 1; azs <= MaxZones; azs++ {
			vpc := netip.PrefixFrom(netip.MustParseAddr("10.128.0.0"), bits)
			plan, err := CarveSubnets(vpc.String(), azs)
			if err != nil {
				t.Fatalf("/%d %d zones: %v", bits, azs, err)
			}
			all := append(append([]string{}, plan.Private...), plan.Public...)
			for i, a := range all {
				pa := netip.MustParsePrefix(a)
				if !vpc.Contains(pa.Addr()) || pa.Bits() < vpc.Bits() {
					t.Errorf("/%d %d zones: %s outside %s", bits, azs, a, vpc)
				}
				for _, b := range all[i+1:] {
					if pa.Overlaps(netip.MustParsePrefix(b)) {
						t.Errorf("/%d %d zones: %s overlaps %s", bits, azs, a, b)
					}
				}
			}
		}
	}
}
