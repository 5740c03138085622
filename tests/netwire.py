"""The other end of a guest's cable for QEMU tests: -netdev dgram between
two UDP ports on 127.0.0.1, one Ethernet frame per datagram.  Nothing
leaves this host."""
import socket

from kwecli import qemu

MAC = "52:54:00:12:34:56"
LOOPBACK = "127.0.0.1"


class Wire:
    """Our end of the guest's cable: a UDP socket on 127.0.0.1 that QEMU's
    dgram netdev sends the guest's frames to, and the port QEMU listens on."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.settimeout(30)
        self.guest_port = qemu.free_port()

    def net(self, mac=MAC):
        here = self.sock.getsockname()[1]
        return ["-netdev", f"dgram,id=n0,local.type=inet,local.host={LOOPBACK},local.port={self.guest_port},"
                           f"remote.type=inet,remote.host={LOOPBACK},remote.port={here}",
                "-device", f"e1000,netdev=n0,mac={mac}"]

    def send(self, frame):
        self.sock.sendto(frame, (LOOPBACK, self.guest_port))

    def recv(self):
        return self.sock.recv(65536)

    def close(self):
        self.sock.close()
