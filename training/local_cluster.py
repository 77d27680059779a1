"""TF_CONFIG for a cluster of worker processes on this machine (loopback), as the multi-worker test
and benchmarks/multi_worker.py start them. A real cluster lists its machines instead (docs/training.md)."""

import json
import socket


def free_ports(count):
    """``count`` TCP ports free on 127.0.0.1 now (bound to port 0, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def loopback_tf_configs(count):
    """One TF_CONFIG JSON string per worker, worker 0 the chief, all on free loopback ports."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(count)]}
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}) for index in range(count)]
