"""What happens when an instrumented call ends: its impacts are computed once, from what it observed, and the
same ``Impacts`` goes to the caller's object, the enclosing trackers and the listeners (exporters)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from genai_footprint import _validate
from genai_footprint._errors import InvalidInputError
from genai_footprint._events import DETAIL_NAMES, CallEvent, CallListener, TokenDetails
from genai_footprint._instrument._guard import internal_error
from genai_footprint._instrument._spec import NO_DETAILS
from genai_footprint._instrument._tokens import count_output_tokens

if TYPE_CHECKING:
    from types import ModuleType

    from genai_footprint._estimate import Prepared
    from genai_footprint._impacts import Impacts, ImpactWarning
    from genai_footprint._instrument._spec import Call, Observation
    from genai_footprint._settings import InstrumentationSettings

logger = logging.getLogger("genai_footprint")

_WARNINGS = {
    "tokens-counted": "The provider reported no usage; output tokens were counted from the text ({source}).",
    "stream-partial": "The stream ended before the provider reported usage; impacts cover the text received.",
}


class Runtime:
    """What the wrappers close over. ``settings`` is None once shut down: wrappers then pass straight through."""

    def __init__(self) -> None:
        self.settings: InstrumentationSettings | None = None
        self.listeners: tuple[CallListener, ...] = ()
        self.grid: Any = None  # a GridIntensity when real-time carbon intensity is configured
        self._unknown_warned: set[tuple[str, str]] = set()

    def finish(
        self, call: Call, observation: Observation, end: float, first_item_at: float | None, ended_early: bool
    ) -> Impacts | None:
        """The impacts of a call that ended at ``end`` (None for a model not in the registry, or when estimating
        failed: logged), handed to the enclosing trackers and the listeners too."""
        # Imported when the first call ends, not at init(): it loads pydantic's models and the registry.
        from genai_footprint import _estimate

        impacts = None
        details = NO_DETAILS
        try:
            details = checked_details(observation.details, observation.output_tokens)
            impacts = self._estimate(_estimate, call, observation, details, end, first_item_at, ended_early)
        except RefusedCount as refused:  # counted as unestimated, and exported as such
            logger.warning("genai_footprint: %s; the call gets impacts=None", refused.explained(call.provider))
        except Exception:  # the same, after an internal error
            internal_error("estimate")
        model = observation.model or call.model_requested
        for run in call.trackers:
            try:
                run.add(call.provider, model, impacts, details)
            except Exception:
                internal_error("tracker")
        if self.listeners:
            try:
                event = call_event(call, observation, impacts, details, end, first_item_at)
            except Exception:
                internal_error("event")
                return impacts
            for listener in self.listeners:
                try:
                    listener(event)
                except Exception:
                    internal_error("listener")
        return impacts

    def _estimate(
        self,
        estimator: ModuleType,
        call: Call,
        observation: Observation,
        details: TokenDetails,
        end: float,
        first_item_at: float | None,
        ended_early: bool,
    ) -> Impacts | None:
        prepared = self._prepared(estimator, call, observation)
        if prepared is None:
            self._warn_unknown(call.provider, observation.model or call.model_requested)
            return None
        tokens, source, warnings = _output_tokens(estimator, call, observation, prepared.model or "", ended_early)
        return estimator.compute(  # type: ignore[no-any-return]
            prepared,
            output_tokens=tokens,
            latency_s=end - call.start,
            tokens_source=source,
            measured_ttft_s=None if first_item_at is None else first_item_at - call.start,
            stream=call.stream,
            extra_warnings=warnings,
            model_requested=call.model_requested,
            model_served=observation.model,
            details=details,
        )

    def _prepared(self, estimator: ModuleType, call: Call, observation: Observation) -> Prepared | None:
        """The call's preparation (None for a model not in the registry), with real-time carbon intensity."""
        settings = call.settings
        prepared: Prepared | None = estimator.prepared_for_call(
            call.provider,
            (observation.model, call.model_requested),
            observation.zone_hint or call.zone_hint,
            zone=settings.zone,
            methodology=settings.methodology,
            provider_zone=settings.zones_by_provider.get(call.provider),
            pue=settings.pue_by_provider.get(call.provider),
            wue=settings.wue_by_provider.get(call.provider),
        )
        if prepared is None or self.grid is None:
            return prepared
        try:
            intensity = self.grid.lookup(prepared.inputs["zone"])
        except Exception:  # the annual mix, as without real-time intensity
            internal_error("grid")
            return prepared
        if intensity is None:
            return prepared
        return estimator.with_gwp(  # type: ignore[no-any-return]
            prepared, intensity.gwp_kg_per_kwh, "electricitymaps", intensity.timestamp
        )

    def _warn_unknown(self, provider: str, model: str | None) -> None:
        key = (provider, model or "")
        if key in self._unknown_warned:
            return
        self._unknown_warned.add(key)
        logger.warning(
            "genai_footprint: model %r of provider %r is not in the registry; its calls get impacts=None. "
            "Add it with genai_footprint.register_model(%r, %r, active_params=..., total_params=...).",
            model,
            provider,
            provider,
            model,
        )


class RefusedCount(Exception):
    """A reported token count we will not estimate with (not a whole number, over the ceiling, or inconsistent
    with the others)."""

    def explained(self, provider: str) -> str:
        return f"{provider} reported {self}"


# No context window comes near this: a count above it is a provider's bug, not a request.
MAX_INPUT_TOKENS = 1_000_000_000


def checked_details(details: TokenDetails, output_tokens: object) -> TokenDetails:
    """``details`` once checked: every count a whole number, the cached and cache-written parts within the
    input, the reasoning within the output. Raises ``RefusedCount`` naming the first that is not."""
    checked = {}
    for name in DETAIL_NAMES:
        value = getattr(details, name)
        if value is None:
            continue
        try:
            checked[name] = _validate.token_count(name, value, maximum=MAX_INPUT_TOKENS, limit="a sanity ceiling")
        except InvalidInputError as refused:
            raise RefusedCount(f"{name}={value!r}: {refused}") from None
    total = checked.get("input_tokens")
    parts = checked.get("cached_input_tokens", 0) + checked.get("cache_write_input_tokens", 0)
    if total is not None and parts > total:
        raise RefusedCount(f"cached and cache-written input tokens ({parts}) above input_tokens={total}")
    reasoning = checked.get("reasoning_tokens")
    if reasoning is not None and isinstance(output_tokens, int) and reasoning > output_tokens:
        raise RefusedCount(f"reasoning_tokens={reasoning} above output_tokens={output_tokens}")
    return TokenDetails(**checked) if checked else NO_DETAILS


def _output_tokens(
    estimator: ModuleType, call: Call, observation: Observation, model: str, ended_early: bool
) -> tuple[float, Any, tuple[ImpactWarning, ...]]:
    """The output tokens to estimate with, how they were counted, and the warnings that go with that. Raises
    ``RefusedCount`` for a reported count that is no whole number >= 0 or above ``max_output_tokens``."""
    reported = observation.output_tokens
    if reported is not None:
        try:
            tokens = _validate.token_count("output_tokens", reported, maximum=call.settings.max_output_tokens)
        except InvalidInputError as refused:
            raise RefusedCount(f"output_tokens={reported!r}: {refused}") from None
        return tokens, observation.tokens_source, ()
    counted, source = count_output_tokens(call.provider, model, observation.text or ())
    codes = ("tokens-counted", "stream-partial") if ended_early else ("tokens-counted",)
    warnings = tuple(
        estimator.ImpactWarning(code=code, message=_WARNINGS[code].format(source=source)) for code in codes
    )
    return counted, source, warnings


def call_event(
    call: Call,
    observation: Observation,
    impacts: Impacts | None,
    details: TokenDetails,
    end: float,
    first_item_at: float | None,
) -> CallEvent:
    """The event of a finished call, for listeners."""
    inputs = None if impacts is None else impacts.inputs
    return CallEvent(
        timestamp=time.time() - (time.perf_counter() - end),
        provider=call.provider,
        model_requested=call.model_requested,
        model_served=observation.model,
        model_resolved=None if inputs is None else inputs.model_resolved,
        zone=None if inputs is None else inputs.zone,
        output_tokens=observation.output_tokens if inputs is None else inputs.output_tokens,
        tokens_source=(observation.tokens_source if observation.output_tokens else None)
        if inputs is None
        else inputs.tokens_source,
        details=details,
        latency_s=end - call.start,
        ttft_s=None if first_item_at is None else first_item_at - call.start,
        stream=call.stream,
        trackers=tuple(run.name for run in call.trackers),
        impacts=impacts,
        context=call.context,
    )
