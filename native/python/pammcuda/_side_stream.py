"""
Compression beside the layer's own GEMMs: the compression reads x and nothing the projection writes, so on CUDA it can
run on a second stream while the projection runs on the current one, forked and joined on the device (events), never
by the host.
"""

import threading

import torch

from . import _compat

_streams = {}
_streams_lock = threading.Lock()


def _side_stream(device):
    """
    The stream compressions run on beside `device`'s current stream: one per device, made once. Non-blocking, as every
    stream torch makes, so that it runs beside the legacy default stream too. High priority: the projection's GEMM fills
    every SM, and the block scheduler gives SMs the GEMM's blocks free to the higher-priority stream first, so the
    compression's short kernels run inside the GEMM rather than after it.
    """
    with _streams_lock:
        stream = _streams.get(device.index)
        if stream is None:
            stream = _streams[device.index] = torch.cuda.Stream(device, priority=-1)
        return stream


def overlaps(x):
    """Whether a compression of x can run beside the projection: x on CUDA, outside torch.compile's tracing."""
    return x.is_cuda and not _compat.is_compiling()


def run_beside(project, compress, device):
    """
    (project(), compress()) with compress's kernels on the side stream and project's on the current one. The side
    stream first waits for everything queued so far (x is written there), and the current stream waits for the side
    stream before it returns, so whatever the caller queues next is ordered after both, as on one stream, and the
    values are the same. compress must return one tensor, which is allocated on the side stream and used on the current
    one from here on: it is recorded there, so that its memory is not handed back to the side stream before the current
    stream is done with it.

    x, read by compress, needs no record_stream: its memory is the current stream's, and the join comes before any
    later allocation on the current stream can reuse it.
    """
    current = torch.cuda.current_stream(device)
    side = _side_stream(device)
    side.wait_stream(current)
    with torch.cuda.stream(side):
        compressed = compress()
    try:
        projected = project()
    finally:
        # Joined even when the projection raises (a shape mismatch, as nn.Linear reports it), so that x's memory is never
        # handed back to the current stream while the side stream may still read it.
        current.wait_stream(side)
    compressed.record_stream(current)
    return projected, compressed


__all__ = ["overlaps", "run_beside"]
