"""bench/tool_decisions.py's scoring, on fixed messages, and its prompts kept apart from lesson 06's."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import tool_decisions as td  # noqa: E402
import tool_formats  # noqa: E402


def _call(name: str, **args: object) -> dict:
    return {"name": name, "args": args, "id": "call_0", "type": "tool_call"}


PARIS = _call("get_weather", city="Paris")
EUROS = _call("convert_currency", amount=100, from_currency="USD", to_currency="EUR")


def test_right_tool_is_exactly_the_needed_tool_with_well_formed_arguments() -> None:
    assert td.right_tool(AIMessage("", tool_calls=[PARIS]), "get_weather")
    assert td.right_tool(AIMessage("", tool_calls=[EUROS]), "convert_currency")
    assert td.right_tool(AIMessage("", tool_calls=[PARIS, _call("get_weather", city="Oslo")]), "get_weather")
    assert not td.right_tool(AIMessage("", tool_calls=[EUROS]), "get_weather")          # the other tool
    assert not td.right_tool(AIMessage("", tool_calls=[PARIS, EUROS]), "get_weather")   # and another one
    assert not td.right_tool(AIMessage("It is sunny."), "get_weather")                 # no call
    assert not td.right_tool(AIMessage("", tool_calls=[_call("get_weather", city="")]), "get_weather")
    assert not td.right_tool(AIMessage("", tool_calls=[_call("convert_currency", amount="100", from_currency="USD",
                                                              to_currency="EUR")]), "convert_currency")
    assert not td.right_tool(AIMessage("", tool_calls=[_call("convert_currency", amount=True, from_currency="USD",
                                                              to_currency="EUR")]), "convert_currency")


def test_a_call_cut_off_by_the_token_limit_still_counts_as_a_call() -> None:
    cut = '```json\n{\n  "name": "convert_currency",\n  "arguments": {\n    "amount": 1,\n    "from_'
    assert td.called(AIMessage(cut, response_metadata={"done_reason": "length"}))
    assert not td.called(AIMessage(cut, response_metadata={"done_reason": "stop"}))  # the server read no call
    echoed = '{ "type": "function", "function": { "name": "convert_currency", "description": "Convert'
    assert not td.called(AIMessage(echoed, response_metadata={"done_reason": "length"}))  # a schema, not a call
    assert td.called(AIMessage("", tool_calls=[PARIS]))


def test_call_shaped_json_naming_no_tool_is_told_apart() -> None:
    shaped = AIMessage('{"name": "Largest Desert in the World", "arguments": {"city": "Suez"}}')
    assert td.call_shaped(shaped) and not td.called(shaped)
    assert not td.call_shaped(AIMessage("The Sahara."))
    assert not td.call_shaped(AIMessage("", tool_calls=[PARIS]))


def test_score_and_balanced_accuracy() -> None:
    prompts = td.PromptSet(need=[("weather?", "get_weather"), ("money?", "convert_currency")],
                           no_need=["hi", "sky?"], use_tool=[("use it", "get_weather")])
    answers = {"weather?": AIMessage("", tool_calls=[PARIS]), "money?": AIMessage("", tool_calls=[PARIS]),
               "hi": AIMessage("Hello!"), "sky?": AIMessage("", tool_calls=[PARIS]),
               "use it": AIMessage("", tool_calls=[PARIS])}
    s = td.score(prompts, answers)
    assert (s.right, s.false, s.formed) == (1, 1, 1)
    assert s.balanced == pytest.approx((1 / 2 + 1 / 2) / 2)


@pytest.mark.parametrize("name", sorted(td.SETS))
def test_prompt_sets_have_the_stated_sizes_and_none_is_lesson_06s(name: str) -> None:
    prompts = td.SETS[name]
    assert [t for _, t in prompts.need].count("get_weather") == 8
    assert [t for _, t in prompts.need].count("convert_currency") == 8
    assert len(prompts.no_need) == 16 and len(prompts.use_tool) == 10
    need, no_need = tool_formats.lesson_prompts()
    ours = {p.lower() for p, _ in prompts.need + prompts.use_tool} | {p.lower() for p in prompts.no_need}
    assert not ours & {p.lower() for p in need + no_need}
    others = {p for other in td.SETS.values() if other is not prompts
              for p in [q for q, _ in other.need + other.use_tool] + other.no_need}
    assert not ours & {p.lower() for p in others}
