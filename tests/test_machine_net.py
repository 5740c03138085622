"""QEMU never gets a network the tests did not ask for, and what they ask
for stays on 127.0.0.1 (kwecli.qemu.Machine.net, check_net)."""
import pytest

from kwecli import qemu

DGRAM = ("dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=4001,"
         "remote.type=inet,remote.host=127.0.0.1,remote.port=4002")


def test_no_network_unless_asked():
    cmd = qemu.Machine().command()
    assert cmd[cmd.index("-nic") + 1] == "none"
    assert "-netdev" not in cmd and "-net" not in cmd


def test_a_loopback_dgram_network_is_passed_on():
    cmd = qemu.Machine(net=["-netdev", DGRAM, "-device", "e1000,netdev=n0"]).command()
    assert cmd[cmd.index("-netdev") + 1] == DGRAM
    assert cmd[cmd.index("-device", cmd.index("-netdev")) + 1] == "e1000,netdev=n0"
    assert cmd[cmd.index("-nic") + 1] == "none"       # still no default NIC beside it


def test_restricted_user_networking_forwarded_from_loopback_is_passed_on():
    user = "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:8080-:80"
    cmd = qemu.Machine(net=["-netdev", user, "-device", "e1000,netdev=n0"]).command()
    assert cmd[cmd.index("-netdev") + 1] == user


@pytest.mark.parametrize("net", [
    ["-netdev", "user,id=n0"],
    ["-netdev", "user,id=n0,restrict=off,hostfwd=tcp:127.0.0.1:8080-:80"],
    ["-netdev", "user,id=n0,restrict=on,hostfwd=tcp::8080-:80"],           # every host address
    ["-netdev", "user,id=n0,restrict=on,hostfwd=tcp:0.0.0.0:8080-:80"],
    ["-netdev", "user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:80-cmd:nc example.org 80"],
    ["-netdev", "user,id=n0,restrict=on,tftp=/"],
    ["-netdev", "user,id=n0,restrict=on,smb=/tmp"],
    ["-netdev", "tap,id=n0,ifname=tap0"],
    ["-netdev", "bridge,id=n0,br=br0"],
    ["-netdev", DGRAM.replace("remote.host=127.0.0.1", "remote.host=192.0.2.1")],
    ["-netdev", DGRAM.replace("local.host=127.0.0.1", "local.host=0.0.0.0")],
    ["-netdev", "dgram,id=n0,local.type=unix,local.path=/tmp/a,remote.type=unix,remote.path=/tmp/b"],
    ["-netdev", "stream,id=n0,addr.type=inet,addr.host=example.org,addr.port=80"],
    ["-netdev", "socket,id=n0,udp=10.0.0.1:5000,localaddr=127.0.0.1:5001"],
    ["-netdev", "dgram,id=n0"],
    ["-nic", "user"],
    ["-net", "nic"],
])
def test_anything_that_could_leave_the_host_is_refused(net):
    with pytest.raises(ValueError):
        qemu.Machine(net=net).command()


def test_network_options_cannot_hide_in_extra():
    with pytest.raises(ValueError):
        qemu.Machine(extra=["-nic", "user,model=e1000"]).command()
