"""Veri's feature flags as an OpenFeature provider: code that asks through the OpenFeature SDK
(`api.get_client().get_boolean_value("USE_MONGO", False, EvaluationContext(targeting_key=creator))`)
gets the same answer as `veri.flags.is_enabled`, with the reason OpenFeature expects."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason
from openfeature.hook import Hook
from openfeature.provider import AbstractProvider, Metadata

from veri.flags import Flag, default_of, evaluate, rules_now

__all__ = ["VeriFlagProvider"]


class VeriFlagProvider(AbstractProvider):
    def get_metadata(self) -> Metadata:
        return Metadata(name="veri")

    def get_provider_hooks(self) -> list[Hook]:
        return []

    def resolve_boolean_details(
        self, flag_key: str, default_value: bool, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        try:
            flag = Flag(flag_key)
        except ValueError:
            return FlagResolutionDetails(default_value, reason=Reason.ERROR, error_code=ErrorCode.FLAG_NOT_FOUND)
        subject = None
        key = evaluation_context.targeting_key if evaluation_context is not None else None
        if key:
            try:
                subject = uuid.UUID(key)
            except ValueError:
                return FlagResolutionDetails(
                    default_value,
                    reason=Reason.ERROR,
                    error_code=ErrorCode.TARGETING_KEY_MISSING,
                    error_message="the targeting key must be a creator's id",
                )
        rule = rules_now().get(flag)
        value = evaluate(flag, rule, default_of(flag), subject)
        if rule is None:
            reason = Reason.STATIC
        elif rule.kill:
            reason = Reason.DISABLED
        elif rule.mode == "percent" or (subject is not None and (subject in rule.allow or subject in rule.deny)):
            reason = Reason.TARGETING_MATCH if subject is not None else Reason.DEFAULT
        else:
            reason = Reason.STATIC
        return FlagResolutionDetails(value, reason=reason, variant="on" if value else "off")

    def _unsupported(self, default_value: Any) -> FlagResolutionDetails[Any]:
        return FlagResolutionDetails(default_value, reason=Reason.ERROR, error_code=ErrorCode.TYPE_MISMATCH)

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return self._unsupported(default_value)

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return self._unsupported(default_value)

    def resolve_float_details(
        self, flag_key: str, default_value: float, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[float]:
        return self._unsupported(default_value)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        return self._unsupported(default_value)
