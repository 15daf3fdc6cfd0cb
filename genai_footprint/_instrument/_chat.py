"""Reading OpenAI-shaped chat completions, shared by the providers whose SDKs mirror them (Groq, Hugging Face,
LiteLLM): the generated text of a message or a delta, a response's observation, and a stream of chunks."""

from __future__ import annotations

from typing import Any

from genai_footprint._instrument._reading import StreamTally, add_text, attr, text_or_none
from genai_footprint._instrument._spec import Observation
from genai_footprint._instrument._usage import chat_completion_details


def message_texts(message: Any, out: list[str], text_fields: tuple[str, ...]) -> None:
    """Generated text of a message or a delta: its ``text_fields`` (``content``, and the reasoning field of the
    provider), tool-call and function-call arguments (an object of arguments, as TGI sends them, by its repr)."""
    if message is None:
        return
    for name in text_fields:
        add_text(out, attr(message, name))
    calls = [attr(tool_call, "function") for tool_call in attr(message, "tool_calls") or ()]
    for function in (*calls, attr(message, "function_call")):
        arguments = attr(function, "arguments")
        add_text(out, repr(arguments) if isinstance(arguments, dict) else arguments)


def completion_tokens(usage: Any) -> Any:
    """The output tokens a usage object reports (reasoning tokens included), as sent; None without usage."""
    return None if usage is None else attr(usage, "completion_tokens")


def chat_observation(response: Any, text_fields: tuple[str, ...]) -> Observation:
    """A ``ChatCompletion``: served model, usage, and the text of its choices (only needed without usage)."""
    usage = attr(response, "usage")
    tokens = completion_tokens(usage)
    texts: list[str] | None = None
    if tokens is None:
        texts = []
        for choice in attr(response, "choices") or ():
            message_texts(attr(choice, "message"), texts, text_fields)
    model = text_or_none(attr(response, "model"))
    return Observation(model=model, output_tokens=tokens, details=chat_completion_details(usage), text=texts)


class ChatChunks(StreamTally):
    """``chat.completion.chunk``s: text from the deltas; usage on the chunk that carries it (``usage_of``), as
    running totals: the last report wins. Keeps the last chunk (a generator stream's proxy hands it the impacts)."""

    def __init__(self, text_fields: tuple[str, ...]) -> None:
        super().__init__()
        self.text_fields = text_fields
        self.last: Any = None

    def usage_of(self, chunk: Any) -> Any:
        return attr(chunk, "usage")

    def on_item(self, chunk: Any) -> bool:
        self.last = chunk
        if self.model is None:
            self.model = text_or_none(attr(chunk, "model"))
        for choice in attr(chunk, "choices") or ():
            message_texts(attr(choice, "delta"), self.texts, self.text_fields)
        usage = self.usage_of(chunk)
        tokens = completion_tokens(usage)
        if tokens is not None:
            self.tokens = tokens
            self.details = chat_completion_details(usage)
        return True
