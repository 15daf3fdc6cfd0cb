"""A LiteLLM callback (its ``CustomLogger`` interface) for LiteLLM's proxy: every request the proxy serves is
estimated with genai_footprint's methodology and sent to the configured exporters; optionally the impacts are
added to the response's ``usage``, in OpenGateLLM's shape::

    "usage": {..., "carbon": {"kWh": {"min": ..., "max": ...}, "kgCO2eq": {"min": ..., "max": ...},
                              "methodology": "ecologits-0.11"}}

Enable it in the proxy's ``config.yaml`` (``litellm_settings: callbacks: genai_footprint.litellm.footprint_logger``,
or an instance of your own built with ``FootprintLogger(usage_carbon=True)``). It calls ``genai_footprint.init()``
on the first request if the process has not: from then on LiteLLM's functions are instrumented and measure each
call (the callback then estimates nothing itself, so no call is counted twice; it still adds ``usage.carbon``).
Without LiteLLM's instrumentation (``init(providers=[...])`` leaving it out) the callback estimates each call.
Importing this module imports ``litellm``.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

import genai_footprint
from genai_footprint._impacts import Impacts
from genai_footprint._instrument._guard import CURRENT_CALL, attach, impacts_of, internal_error
from genai_footprint._instrument._instrumentor import instrumentor
from genai_footprint._instrument._litellm import CHAT, RESPONSES, TEXT
from genai_footprint._setup import current_runtime

__all__ = ["FootprintLogger", "carbon_usage", "footprint_logger"]


def carbon_usage(impacts: Impacts) -> dict[str, Any]:
    """``usage.carbon`` in OpenGateLLM's shape (energy in kWh, GHG in kgCO2eq, as ranges) and the methodology."""
    return {
        "kWh": {"min": impacts.energy.min, "max": impacts.energy.max},
        "kgCO2eq": {"min": impacts.gwp.min, "max": impacts.gwp.max},
        "methodology": impacts.methodology_version,
    }


def _seconds(start: Any, end: Any) -> float | None:
    if isinstance(start, datetime.datetime) and isinstance(end, datetime.datetime):
        return max((end - start).total_seconds(), 0.0)
    if isinstance(start, (int, float)) and isinstance(end, (int, float)):
        return max(float(end - start), 0.0)
    return None


class FootprintLogger(CustomLogger):
    """Estimates each successful LiteLLM call once; with ``usage_carbon``, the proxy's responses carry the
    estimate in ``usage.carbon``. ``init_options`` go to ``genai_footprint.init()`` when this logger calls it."""

    def __init__(self, usage_carbon: bool = False, **init_options: Any) -> None:
        super().__init__()
        self.usage_carbon = usage_carbon
        self.init_options = init_options

    # -- LiteLLM's success events (SDK and proxy alike) ---------------------------------------------------

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._measure(kwargs, response_obj, start_time, end_time)

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._measure(kwargs, response_obj, start_time, end_time)

    # -- the proxy's hook on the response it is about to send ---------------------------------------------

    async def async_post_call_success_hook(self, data: Any, user_api_key_dict: Any, response: Any) -> Any:
        if not self.usage_carbon:
            return response
        try:
            impacts = impacts_of(response)
            if impacts is None:
                impacts = self._measure(data, response, None, None)
            usage = getattr(response, "usage", None)
            if impacts is not None and usage is not None:
                usage.carbon = carbon_usage(impacts)
        except Exception:
            internal_error("litellm callback")
        return response

    # -- estimating -----------------------------------------------------------------------------------------

    def _measure(self, kwargs: Any, response: Any, start_time: Any, end_time: Any) -> Impacts | None:
        """The impacts of a call the instrumentation did not measure (estimated once, exported); those it did
        measure, as they are. Never raises."""
        try:
            measured = impacts_of(response)
            if measured is not None or CURRENT_CALL.get() is not None or not isinstance(kwargs, dict):
                return measured  # type: ignore[no-any-return]
            if current_runtime() is not None and "litellm" in instrumentor().enabled:
                return None  # LiteLLM's functions are instrumented: they measure the call (a stream at its end)
            return self._estimate(kwargs, response, _seconds(start_time, end_time))
        except Exception:
            internal_error("litellm callback")
            return None

    def _estimate(self, kwargs: dict[str, Any], response: Any, latency_s: float | None) -> Impacts | None:
        runtime = current_runtime()
        if runtime is None:
            genai_footprint.init(**self.init_options)
            runtime = current_runtime()
        if runtime is None or runtime.settings is None:
            return None
        params = kwargs.get("litellm_params") or {}
        arguments = {
            "model": kwargs.get("model"),
            "custom_llm_provider": kwargs.get("custom_llm_provider") or params.get("custom_llm_provider"),
            "api_base": params.get("api_base"),
        }
        if getattr(response, "choices", None) is None:
            endpoint = RESPONSES
        else:
            endpoint = TEXT if getattr(response, "object", None) == "text_completion" else CHAT
        call = endpoint.begin(None, (), arguments, runtime.settings)
        end = time.perf_counter()
        if latency_s is not None:
            call.start = end - latency_s
        impacts = runtime.finish(call, endpoint.observe(call, response), end, None, False)
        attach(response, impacts)
        return impacts


footprint_logger = FootprintLogger()
"""The instance a proxy's ``config.yaml`` names (``callbacks: genai_footprint.litellm.footprint_logger``)."""
