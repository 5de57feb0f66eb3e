"""Does the model call the right tool, and only when one is needed? Two tools, prompts the course does not use.

The acceptance check for tool decisions: ``ChatOllama(model=..., temperature=0).bind_tools([get_weather,
convert_currency])`` against a ``labkit serve`` this script starts (its own process, loopback), on

* 16 prompts that need one of the two tools (8 each), 16 that need none (general questions, many of
  them about weather or money but needing no live data), and 10 that tell the model to use a tool;
* each variant of what the learner sends, one row each, on the same run, so the effect of each
  step is measured on the same prompts and the same machine:

  - **baseline**: no system message; the tools' docstrings say what they do, in one line;
  - **assistant**: a system message with no policy ("You are a helpful assistant."), the control
    for the next one: a system message of one's own replaces the template's default one (Qwen2.5's
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
  - **policy**: the system message "Call a tool only when the question needs live data that a
    tool provides; otherwise answer directly.";
  - **default+policy**: the template's default system message, then the policy;
  - **described**: the tools' descriptions say what live data they return (and the arguments
    theirs: currencies as ISO codes); with the policy, and with default + policy;
  - **scoped**: descriptions that say what the tool returns and when to use it, and when not;
  - **router**: a first question without tools, "must one of these tools be called?", answered
    yes or no (a JSON schema), then the baseline request if yes, the plain model if no.

  What the model sees is its own chat template with the tools in it, rendered as llama.cpp's
  server renders it (its Hermes 2 Pro handler applies the template unchanged); no server adds a
  policy of its own, so every variant is on the request's side.

Printed per model and variant: **right tool** (exactly the needed tool called, arguments
well-formed), **false calls** (a call, or the start of one, where none was needed), **balanced
accuracy** ((right-tool rate + correct-no-call rate) / 2; 0.50 is a coin, always calling scores
0.50), **well-formed** calls of the named tool on the "use the tool" prompts, the seconds the
variant took, and the answers to prompts needing no tool that are call-shaped JSON naming no tool
(``{"name": "Largest Desert", "arguments": ...}``: no call, no answer either). ``--verbose`` lists
every prompt's outcome.

Two prompt sets: ``A`` (written first, the variants compared on it) and ``B`` (written once the
variants' wording was settled, and not looked at before: a check that no variant was fitted to A).
None of them is a prompt of lesson 06 or of the tests. Greedy decoding, so the calls repeat from
run to run; the seconds do not (on a busy 2-core machine, ``LABKIT_THREADS=1`` keeps the server
from competing with itself).

    python bench/tool_decisions.py                           # both models, every variant, set A
    python bench/tool_decisions.py --model qwen2.5-coder:0.5b --set A B --verbose
    python bench/tool_decisions.py --variants baseline described
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langchain_core.tools import tool  # noqa: E402

MODELS = ["smollm2:135m", "qwen2.5-coder:0.5b"]
# Enough for a call pretty-printed in a ```json fence (about 50 tokens for convert_currency); a
# plain answer stops here, which is all the decision needs.
NUM_PREDICT = 64


# ---- the prompts -------------------------------------------------------------------------------

@dataclass(frozen=True)
class PromptSet:
    need: list[tuple[str, str]]       # (prompt, the tool it needs)
    no_need: list[str]
    use_tool: list[tuple[str, str]]   # (prompt that says to use a tool, that tool)


W, C = "get_weather", "convert_currency"
SETS = {
    "A": PromptSet(
        need=[
            ("What's the temperature in Nairobi at the moment?", W),
            ("Is it snowing in Reykjavik today?", W),
            ("Do I need a jacket in Seoul right now?", W),
            ("How hot is it in Phoenix today?", W),
            ("Tell me the current conditions in Buenos Aires.", W),
            ("Weather check for Istanbul, please.", W),
            ("Is it windy in Wellington right now?", W),
            ("What are the skies like over Bangkok this morning?", W),
            ("How many Japanese yen would I get for 250 euros?", C),
            ("Convert 75 British pounds to US dollars.", C),
            ("What is 1200 Indian rupees in euros today?", C),
            ("I have 40 Swiss francs; how much is that in Canadian dollars?", C),
            ("How much are 500 Mexican pesos worth in US dollars?", C),
            ("Change 3000 yen into Australian dollars for me.", C),
            ("What would 18.50 US dollars be in British pounds?", C),
            ("Exchange 90 euros to Swedish kronor: how much do I get?", C),
        ],
        no_need=[
            "What does 'exchange rate' mean?",
            "What causes thunder?",
            "Explain the difference between weather and climate.",
            "Why do some countries use the euro?",
            "What is inflation, in simple terms?",
            "How do clouds form?",
            "Write a short poem about autumn wind.",
            "Who invented paper money?",
            "What is the boiling point of water in Fahrenheit?",
            "Give me a tip for saving money on groceries.",
            "What is 15 percent of 80?",
            "Name the largest desert in the world.",
            "What does a barometer measure?",
            "Summarise the plot of Romeo and Juliet in one sentence.",
            "How many cents are in a dollar?",
            "What is the plural of 'cactus'?",
        ],
        use_tool=[
            ("Use get_weather to find out the weather in Lisbon.", W),
            ("Call the weather tool for Johannesburg.", W),
            ("Look up Kyoto with the get_weather tool.", W),
            ("Please use a tool to get today's weather in Denver.", W),
            ("With the weather tool, check Helsinki.", W),
            ("Use convert_currency to turn 60 euros into US dollars.", C),
            ("Call the currency converter: 150 Canadian dollars to British pounds.", C),
            ("Use a tool to convert 2000 Korean won into Japanese yen.", C),
            ("Run convert_currency for 35 Swiss francs in euros.", C),
            ("Use the currency tool: how much is 10 US dollars in Brazilian reais?", C),
        ],
    ),
    # Written after the variants' wording was settled, to check it on prompts it was not chosen on.
    "B": PromptSet(
        need=[
            ("Give me the weather in Cape Town right now.", W),
            ("Is it sunny in Marrakesh at the moment?", W),
            ("What's it like outside in Chicago today?", W),
            ("Current temperature in Hanoi?", W),
            ("Are there storms in Manila right now?", W),
            ("How cold is it in Anchorage this evening?", W),
            ("I'm flying to Dublin tonight. What's the weather there now?", W),
            ("Check whether it's foggy in San Francisco today.", W),
            ("How much is 320 Norwegian kroner in euros?", C),
            ("Turn 45 US dollars into Thai baht.", C),
            ("What do 9000 Japanese yen come to in British pounds?", C),
            ("I need to pay 1500 Czech koruna. How many euros is that?", C),
            ("Convert 64.99 Canadian dollars into Swiss francs.", C),
            ("What's 800 South African rand in US dollars right now?", C),
            ("How many Polish zloty do I get for 200 euros?", C),
            ("Price check: 120 Australian dollars in New Zealand dollars?", C),
        ],
        no_need=[
            "What is a currency peg?",
            "Why does it get colder at higher altitudes?",
            "What is the difference between a hurricane and a typhoon?",
            "Explain what a stock dividend is.",
            "Who is on the US hundred-dollar bill?",
            "What is humidity?",
            "How do I convert Celsius to Fahrenheit?",
            "When did Britain switch to decimal currency?",
            "Write a limerick about a cat.",
            "What is the square root of 144?",
            "List three primary colours.",
            "What is the chemical symbol for gold?",
            "How many days are in a leap year?",
            "What is a budget, and why make one?",
            "Recommend a good habit for better sleep.",
            "What language is spoken in Brazil?",
        ],
        use_tool=[
            ("Use get_weather for Vienna.", W),
            ("Please call get_weather with the city Santiago.", W),
            ("Use the weather tool to see what it's like in Perth.", W),
            ("Fetch the weather in Edinburgh with your tool.", W),
            ("Using a tool, tell me the weather in Doha.", W),
            ("Use convert_currency: 500 Hong Kong dollars to US dollars.", C),
            ("Call convert_currency to change 25 euros into Danish kroner.", C),
            ("Use the currency conversion tool for 70 Singapore dollars in Japanese yen.", C),
            ("With a tool, convert 1000 Turkish lira to euros.", C),
            ("Please use convert_currency on 12 British pounds to Indian rupees.", C),
        ],
    ),
}


# ---- the tools and the variants ----------------------------------------------------------------

@tool("get_weather")
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return "12 °C, light rain"


@tool("convert_currency")
def convert_currency(amount: float, from_currency: str, to_currency: str) -> str:
    """Convert an amount of money from one currency to another."""
    return f"{amount * 0.9:.2f} {to_currency}"


@tool("get_weather", parse_docstring=True)
def get_weather_described(city: str) -> str:
    """Look up the weather in a city right now, from a live weather service.

    Returns the current temperature and conditions there, such as "18 °C, sunny".

    Args:
        city: the name of the city, such as "Paris"
    """
    return "12 °C, light rain"


@tool("convert_currency", parse_docstring=True)
def convert_currency_described(amount: float, from_currency: str, to_currency: str) -> str:
    """Convert an amount of money at today's exchange rate, from a live rates service.

    Returns the converted amount, such as "92.40 EUR".

    Args:
        amount: how much money to convert
        from_currency: the currency the amount is in, as an ISO code such as "USD"
        to_currency: the currency to convert to, as an ISO code such as "EUR"
    """
    return f"{amount * 0.9:.2f} {to_currency}"


# Written after set A's first run, where the model copied "92.40 EUR" into calls: what the tool
# returns and when to use it, without example values beyond the currency codes. (A docstring's
# line breaks stay in the description: one line per paragraph.)
@tool("get_weather", parse_docstring=True)
def get_weather_scoped(city: str) -> str:
    """Look up the current weather in a city from a live weather service: its temperature and conditions now.

    Use it only when the user asks about the weather in a particular place now, not for general questions about weather or climate.

    Args:
        city: the name of the city
    """
    return "12 °C, light rain"


@tool("convert_currency", parse_docstring=True)
def convert_currency_scoped(amount: float, from_currency: str, to_currency: str) -> str:
    """Convert an amount of money into another currency at today's exchange rate, from a live rates service.

    Use it only when the user gives an amount to convert, not for general questions about money or currencies.

    Args:
        amount: how much money to convert
        from_currency: the currency the amount is in, as an ISO code such as USD
        to_currency: the currency to convert to, as an ISO code such as EUR
    """
    return f"{amount * 0.9:.2f} {to_currency}"


PLAIN, DESCRIBED = [get_weather, convert_currency], [get_weather_described, convert_currency_described]
SCOPED = [get_weather_scoped, convert_currency_scoped]
POLICY = "Call a tool only when the question needs live data that a tool provides; otherwise answer directly."
ASSISTANT = "You are a helpful assistant."


@dataclass(frozen=True)
class Variant:
    label: str
    system: str | None
    tools: list[Any]
    after_default: bool = False       # the system message is the model's default one, then ``system``
    router: bool = False              # ask first, without tools, whether a tool is needed (yes/no)

    def system_for(self, model: str) -> str | None:
        if not self.after_default or self.system is None:
            return self.system
        default = default_system(model)
        if not default:
            return self.system
        return f"{default}{'' if default.endswith('.') else '.'} {self.system}"


VARIANTS = {
    "baseline": Variant("no system message, plain descriptions", None, PLAIN),
    "assistant": Variant('system "You are a helpful assistant." (control)', ASSISTANT, PLAIN),
    "policy": Variant("system: the policy", POLICY, PLAIN),
    "default+policy": Variant("system: the model's default + the policy", POLICY, PLAIN, after_default=True),
    "described": Variant("descriptions say what live data they return", None, DESCRIBED),
    "policy+described": Variant("system: the policy; those descriptions", POLICY, DESCRIBED),
    "default+policy+described": Variant("system: default + policy; those descriptions", POLICY, DESCRIBED,
                                        after_default=True),
    "scoped": Variant("descriptions say what they return and when to use them", None, SCOPED),
    "router": Variant("router: yes/no first (no tools), then as baseline", None, PLAIN, router=True),
}

# The router's question (written after set A's first run): the tools' own descriptions, then a
# yes/no answer held to those two words by a JSON schema.
ROUTER = "Tools:\n{tools}\n\nQuestion: {question}\n\nTo answer the question, must one of these tools be called? Answer yes or no."
YES_NO = {"type": "string", "enum": ["yes", "no"]}


def default_system(model: str) -> str | None:
    """The system message the model's chat template writes when the request has none (Qwen2.5's
    "You are Qwen, created by Alibaba Cloud. ..."): a system message of one's own replaces it."""
    from labkit.ollama import metadata, store, templates

    text = templates.render_chat(metadata.chat_template(store.find(model)), [{"role": "user", "content": "x"}],
                                 None, "", "")
    found = re.match(r"<\|im_start\|>system\n(.*?)<\|im_end\|>", text, re.DOTALL)
    return found.group(1).strip() if found else None


# ---- scoring -----------------------------------------------------------------------------------

# The opening of a call to one of the tools (the name, then its arguments), in an answer the token
# limit cut off: such a call comes back as content, and it still counts as the model deciding to
# call. (A tool's schema echoed back, ``"name": ..., "description": ...``, is not a call.)
STARTED_CALL = re.compile(r'\{\s*"name"\s*:\s*"(?:get_weather|convert_currency)"\s*,\s*"(?:arguments|parameters)"')


def well_formed(call: dict[str, Any]) -> bool:
    """A LangChain tool call (``name``, ``args``) of one of the two tools, arguments of the right types."""
    args = call.get("args") or {}

    def text(key: str) -> bool:
        return isinstance(args.get(key), str) and bool(args[key].strip())

    if call.get("name") == W:
        return text("city")
    if call.get("name") == C:
        amount = args.get("amount")
        return (isinstance(amount, (int, float)) and not isinstance(amount, bool)
                and text("from_currency") and text("to_currency"))
    return False


# JSON shaped like a call, naming no tool (``{"name": "Largest Desert", "arguments": ...}``): not a
# call (no server reads it as one), but the model answered with a call instead of the answer.
CALL_SHAPED = re.compile(r'^\s*(?:```(?:json)?\s*)?\[?\s*\{\s*"name"\s*:\s*"[^"]*"\s*,\s*"(?:arguments|parameters)"')


def call_shaped(message: Any) -> bool:
    """No call, but an answer that is call-shaped JSON naming something that is not a tool."""
    return not called(message) and bool(CALL_SHAPED.match(message.content or ""))


def called(message: Any) -> bool:
    """Did the model call (or start to call) a tool?"""
    cut_off = (message.response_metadata or {}).get("done_reason") == "length"
    return bool(message.tool_calls) or (cut_off and bool(STARTED_CALL.search(message.content or "")))


def right_tool(message: Any, needed: str) -> bool:
    """Exactly the needed tool called (once or more), every call well-formed."""
    calls = message.tool_calls
    return bool(calls) and all(c["name"] == needed and well_formed(c) for c in calls)


@dataclass
class Score:
    right: int
    need: int
    false: int
    no_need: int
    formed: int
    use_tool: int
    seconds: float
    shaped: int = 0

    @property
    def balanced(self) -> float:
        return (self.right / self.need + 1 - self.false / self.no_need) / 2


def score(prompts: PromptSet, answers: dict[str, Any], seconds: float = 0.0) -> Score:
    """The figures for one variant from its answers (prompt -> AIMessage)."""
    return Score(right=sum(right_tool(answers[p], t) for p, t in prompts.need), need=len(prompts.need),
                 false=sum(called(answers[p]) for p in prompts.no_need), no_need=len(prompts.no_need),
                 formed=sum(right_tool(answers[p], t) for p, t in prompts.use_tool), use_tool=len(prompts.use_tool),
                 seconds=seconds, shaped=sum(call_shaped(answers[p]) for p in prompts.no_need))


def outcome(message: Any, needed: str | None) -> str:
    """One prompt's outcome, for ``--verbose``."""
    calls = ", ".join(f"{c['name']}({', '.join(f'{k}={v!r}' for k, v in c['args'].items())})"
                      for c in message.tool_calls)
    if needed is None:
        mark = "FALSE CALL" if called(message) else "ok (JSON)" if call_shaped(message) else "ok"
    else:
        mark = "ok" if right_tool(message, needed) else "WRONG" if called(message) else "NO CALL"
    what = calls or " ".join((message.content or "").split())[:70]
    return f"{mark:<10} {what}"


# ---- running -----------------------------------------------------------------------------------

def run_variant(base_url: str, model: str, variant: Variant, prompts: PromptSet) -> tuple[dict[str, Any], float]:
    """Every prompt's answer (an AIMessage) under ``variant``, and the seconds they took, one after another."""
    from langchain_core.messages import HumanMessage, SystemMessage
    from langchain_ollama import ChatOllama

    llm = ChatOllama(model=model, base_url=base_url, temperature=0, num_predict=NUM_PREDICT,
                     num_ctx=2048).bind_tools(variant.tools)
    every = [p for p, _ in prompts.need] + prompts.no_need + [p for p, _ in prompts.use_tool]
    plain = ChatOllama(model=model, base_url=base_url, temperature=0, num_predict=NUM_PREDICT, num_ctx=2048)
    ask = ChatOllama(model=model, base_url=base_url, temperature=0, num_predict=4, num_ctx=2048, format=YES_NO)
    listed = "\n".join(f"- {t.name}: {t.description}" for t in variant.tools)
    answers = {}
    system = variant.system_for(model)
    start = time.perf_counter()
    for prompt in every:
        messages = ([SystemMessage(system)] if system else []) + [HumanMessage(prompt)]
        if variant.router and json.loads(ask.invoke(ROUTER.format(tools=listed, question=prompt)).content) != "yes":
            answers[prompt] = plain.invoke(messages)  # answered without tools
        else:
            answers[prompt] = llm.invoke(messages)
    return answers, time.perf_counter() - start


def main() -> None:
    from labkit.ollama.server import start_process
    from labkit.system.hardware import cpu_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", default=MODELS, help=f"models to measure (default {' '.join(MODELS)})")
    parser.add_argument("--set", nargs="+", default=["A"], choices=sorted(SETS), help="prompt sets (default A)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS),
                        help="variants to run (default all)")
    parser.add_argument("--verbose", action="store_true", help="list every prompt's outcome")
    args = parser.parse_args()

    server = start_process()
    try:
        print(f"{cpu_model()}, {os.cpu_count()} cores; ChatOllama.bind_tools([get_weather, convert_currency]), "
              f"temperature 0, num_predict {NUM_PREDICT}; labkit serve in its own process")
        print(f'policy: "{POLICY}"')
        for model in args.model:
            from langchain_ollama import ChatOllama

            ChatOllama(model=model, base_url=server.url, num_predict=1, num_ctx=2048).invoke("hi")  # load
            for name in args.set:
                prompts = SETS[name]
                print(f"\n{model}, set {name}: {len(prompts.need)} prompts need a tool, {len(prompts.no_need)} "
                      f"need none, {len(prompts.use_tool)} say to use one")
                width = max(len(VARIANTS[v].label) for v in args.variants)
                print(f"{'variant':<{width}} {'right tool':>10} {'false calls':>11} {'balanced':>8} "
                      f"{'well-formed':>11} {'s':>6} {'call-shaped JSON, no tool':>25}")
                for key in args.variants:
                    variant = VARIANTS[key]
                    answers, seconds = run_variant(server.url, model, variant, prompts)
                    s = score(prompts, answers, seconds)
                    print(f"{variant.label:<{width}} {f'{s.right}/{s.need}':>10} {f'{s.false}/{s.no_need}':>11} "
                          f"{s.balanced:>8.2f} {f'{s.formed}/{s.use_tool}':>11} {s.seconds:>6.1f} "
                          f"{f'{s.shaped}/{s.no_need}':>25}", flush=True)
                    if args.verbose:
                        rows = ([(p, t) for p, t in prompts.need] + [(p, None) for p in prompts.no_need]
                                + [(p, t) for p, t in prompts.use_tool])
                        for prompt, needed in rows:
                            print(f"    {prompt[:58]:<58} {outcome(answers[prompt], needed)}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
