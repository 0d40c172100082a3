import ipaddress

import pytest

from components.aws.subnets import layout_subnets


def test_slash16_over_two_zones() -> None:
    layout = layout_subnets("10.40.0.0/16", 2)
    assert layout.private == ("10.40.0.0/18", "10.40.64.0/18")
    assert layout.public == ("10.40.192.0/20", "10.40.208.0/20")


def test_slash24_over_three_zones_keeps_aws_minimum_subnet() -> None:
    layout = layout_subnets("10.0.1.0/24", 3)
    assert layout.private == ("10.0.1.0/26", "10.0.1.64/26", "10.0.1.128/26")
    assert layout.public == ("10.0.1.192/28", "10.0.1.208/28", "10.0.1.224/28")


@pytest.mark.parametrize("zones", [1, 2, 3])
@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "172.16.0.0/20", "192.168.4.0/24"])
def test_subnets_are_inside_the_vpc_and_disjoint(cidr: str, zones: int) -> None:
    layout = layout_subnets(cidr, zones)
    nets = [ipaddress.IPv4Network(c) for c in layout.public + layout.private]
    vpc = ipaddress.IPv4Network(cidr)
    assert len(nets) == 2 * zones
    assert all(n.subnet_of(vpc) for n in nets)
    for i, a in enumerate(nets):
        assert not any(a.overlaps(b) for b in nets[i + 1 :])


@pytest.mark.parametrize(
    ("cidr", "zones"), [("10.0.0.0/25", 2), ("10.0.0.0/16", 4), ("10.0.0.0/16", 0)]
)
def test_refuses_what_cannot_be_laid_out(cidr: str, zones: int) -> None:
    with pytest.raises(ValueError, match=r"too small|zones must be"):
        layout_subnets(cidr, zones)
