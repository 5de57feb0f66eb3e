"""Where prompts and answers travel and rest, for each way of running a model.

Introduced in notebooks/05_local_vs_cloud.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataFlow:
    """Where prompts and answers travel and rest for one way of running a model.

    Introduced in notebooks/05_local_vs_cloud.
    """

    option: str
    leaves_device: bool
    leaves_organisation: bool
    path: str
    stored: str
    who_can_see: str


DATA_FLOWS: dict[str, DataFlow] = {
    "cloud_api": DataFlow(
        option="cloud_api", leaves_device=True, leaves_organisation=True,
        path="app → internet (TLS) → provider's API front end → provider's GPU servers → back",
        stored="provider logs and abuse-monitoring stores for the retention period in its terms; "
               "prompt caches; your own app logs",
        who_can_see="the provider's systems and authorised staff under its policy; subprocessors it names",
    ),
    "ollama_workstation": DataFlow(
        option="ollama_workstation", leaves_device=True, leaves_organisation=False,
        path="app → local network or 127.0.0.1 → Ollama server on the workstation → back",
        stored="nothing by Ollama beyond its server log (request metadata); your own app logs; "
               "the model runs from files on disk",
        who_can_see="whoever administers the workstation and the network it sits on",
    ),
    "llamacpp_edge": DataFlow(
        option="llamacpp_edge", leaves_device=False, leaves_organisation=False,
        path="app → llama.cpp in the same process on the device → back; no network needed",
        stored="only what your app writes on the device",
        who_can_see="whoever holds the device",
    ),
    "transformers_gpu_server": DataFlow(
        option="transformers_gpu_server", leaves_device=True, leaves_organisation=True,
        path="app → internet or VPN → rented GPU server running your own code → back",
        stored="your server's disks and logs; the hosting provider holds the machine and its disks",
        who_can_see="your team; the hosting provider's operators at the infrastructure level",
    ),
}


def data_flow(option: str) -> DataFlow:
    """Describe where prompts and outputs go for ``option`` (a key of ``DATA_FLOWS``).

    Introduced in notebooks/05_local_vs_cloud.
    """
    try:
        return DATA_FLOWS[option]
    except KeyError:
        raise KeyError(f"unknown option {option!r}; choose one of {sorted(DATA_FLOWS)}") from None
