"""CI runs the suite in a network namespace that has only loopback, so no process can reach out.

The in-process guard in conftest.py covers the pytest process; notebook kernels, servers, child
processes and Chromium are covered by the namespace `.ci/run` starts (`unshare --net`). These
tests run there (``LABKIT_OFFLINE_NAMESPACE=1``) and check that it is what it claims to be.
"""

from __future__ import annotations

import errno
import os
import socket

import pytest

IN_NAMESPACE = os.environ.get("LABKIT_OFFLINE_NAMESPACE") == "1"
needs_namespace = pytest.mark.skipif(not IN_NAMESPACE, reason="runs inside the loopback-only network namespace "
                                                               "of .ci/run")


def _interfaces() -> list[str]:
    return sorted(name for _, name in socket.if_nameindex())


@needs_namespace
def test_the_namespace_has_only_loopback() -> None:
    assert _interfaces() == ["lo"]


@needs_namespace
def test_a_notebook_kernel_cannot_reach_beyond_loopback() -> None:
    import nbformat
    from nbclient import NotebookClient

    assert _interfaces() == ["lo"]  # with no other interface, nothing can leave the machine
    cell = ("import socket\n"
            "try:\n"
            "    socket.create_connection(('192.0.2.1', 80), timeout=5)\n"  # TEST-NET-1: documentation only
            "    print('connected')\n"
            "except OSError as err:\n"
            "    print('refused', err.errno)\n")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    NotebookClient(notebook, kernel_name="python3", timeout=60).execute()
    printed = "".join(o.get("text", "") for o in notebook.cells[0].outputs)
    assert printed.strip() == f"refused {errno.ENETUNREACH}", printed
