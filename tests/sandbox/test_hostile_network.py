"""A hostile program reaching for the network: a service of the grader's machine on 127.0.0.1,
and the outside world. The run has a network namespace of its own: both fail, and the
listener never sees a connection."""

from __future__ import annotations

import ast
import socket

import pytest

from grader.sandbox import bwrap
from tests.sandbox.helpers import sandboxed, stdout_of

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not isinstance(bwrap.probe(), bwrap.Bwrap), reason=f"no namespaces here: {bwrap.probe()}"),
]

REACH = '''import socket
out = []
for host, port in ((LOCAL), ("1.1.1.1", 53), ("8.8.8.8", 443), ("example.com", 80)):
    try:
        s = socket.create_connection((host, port), timeout=1.0)
        s.sendall(b"hello from the sandbox")
        out.append("connected " + host)
    except OSError as exc:
        out.append(type(exc).__name__)
print(out)
'''


def test_no_network_not_even_the_hosts_loopback() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.0)
        port = listener.getsockname()[1]
        trace = sandboxed(REACH.replace("LOCAL", repr(("127.0.0.1", port))), within=8.0)
        out = ast.literal_eval(stdout_of(trace, trace.processes[0])[0])
        assert len(out) == 4 and not [o for o in out if o.startswith("connected")], out
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever arrived
    assert trace.sandbox["network"].startswith("none")
