"""``reuse_freed_memory``: large tensors freed between batches stop costing fresh pages from the kernel."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent("""
    import resource, sys, torch
    from rnnlab.training import reuse_freed_memory
    def faults():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(20):
            x = torch.empty(16 * 1024 * 1024)   # 64 MB: above glibc's largest mmap threshold (32 MB)
            x.fill_(1.0)
            del x
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    plain = faults()
    took = reuse_freed_memory()
    faults()                                     # the heap grows once
    print(took, plain, faults())
""")


def _probe(env_extra: dict) -> tuple[str, int, int]:
    env = {**os.environ, **env_extra}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True).stdout
    took, plain, reused = out.split()
    return took, int(plain), int(reused)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_tensors_are_reused_without_new_page_faults():
    took, plain, reused = _probe({})
    assert took == "True"
    # each 64 MB tensor faults in ~16,000 pages when it comes from a fresh mapping
    assert plain > 20 * 10_000
    assert reused < plain / 20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_opt_out_leaves_the_allocator_alone():
    took, plain, reused = _probe({"RNNLAB_REUSE_MEMORY": "0"})
    assert took == "False"
    assert reused > plain / 2
