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


@dataclass(frozen=True)
class CloudControl:
    """A contract or setting that narrows what a cloud provider keeps, and what it leaves unchanged.

    Introduced in notebooks/05_local_vs_cloud.
    """

    control: str
    changes: str
    does_not_change: str
    how_to_get_it: str
    source: str


CLOUD_CONTROLS: list[CloudControl] = [
    CloudControl(
        control="zero data retention (ZDR)",
        changes="prompts and outputs are not stored at rest after the response (by default OpenAI keeps "
                "abuse-monitoring logs with prompts for up to 30 days)",
        does_not_change="the prompt still travels to and is processed on the provider's servers; endpoints and "
                        "features that need storage are not eligible; kept where law or misuse requires",
        how_to_get_it="approval by the provider, per organisation or project (OpenAI, Anthropic)",
        source="developers.openai.com/api/docs/guides/your-data; "
               "platform.claude.com/docs/en/build-with-claude/api-and-data-retention (read 2026-11-30)",
    ),
    CloudControl(
        control="business associate agreement (BAA, US HIPAA)",
        changes="a US covered entity may send protected health information to the eligible endpoints",
        does_not_change="the data still leaves your organisation; only eligible services and features are "
                        "covered, with configuration requirements",
        how_to_get_it="a signed agreement with the provider (OpenAI's Business Associate and Healthcare "
                      "Addendum; Anthropic's BAA for its HIPAA-eligible services)",
        source="developers.openai.com/api/docs/guides/your-data; privacy.claude.com article 8956058 "
               "(read 2026-11-30)",
    ),
    CloudControl(
        control="data residency (regional processing)",
        changes="stored customer content stays in the chosen region, and inference runs there where the region "
                "supports it",
        does_not_change="account, usage and billing data may be processed elsewhere; the provider still "
                        "processes the prompt",
        how_to_get_it="an eligible organisation picks the region when creating a project; OpenAI charges 10 % more "
                      "for eligible models released on or after 2026-03-05",
        source="developers.openai.com/api/docs/guides/data-residency (read 2026-11-30)",
    ),
]
"""What the three common cloud privacy options do, and what none of them does: keep the prompt in
your organisation. Check your provider's current terms; these change."""


def data_flow(option: str) -> DataFlow:
    """Describe where prompts and outputs go for ``option`` (a key of ``DATA_FLOWS``).

    Introduced in notebooks/05_local_vs_cloud.
    """
    try:
        return DATA_FLOWS[option]
    except KeyError:
        raise KeyError(f"unknown option {option!r}; choose one of {sorted(DATA_FLOWS)}") from None
