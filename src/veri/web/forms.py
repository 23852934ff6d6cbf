"""Form handling for pages: validate a submitted form with the same pydantic model as the API,
and turn errors into messages per field for the re-rendered form."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from veri.errors import VeriError

__all__ = ["FormErrors", "dollars_to_cents", "errors_from", "form_values", "parse_form"]

M = TypeVar("M", bound=BaseModel)
FormErrors = dict[str, str]


def form_values(form: FormData, *, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in form:
        if key == "csrf_token":
            continue
        if key in lists:
            values[key] = [v for v in form.getlist(key) if isinstance(v, str) and v.strip()]
        else:
            value = form.get(key)
            if isinstance(value, str):
                values[key] = value
    return values


def parse_form(model: type[M], values: dict[str, Any]) -> tuple[M | None, FormErrors]:
    cleaned = {k: v for k, v in values.items() if v != "" or (k in model.model_fields and _required(model, k))}
    try:
        return model.model_validate(cleaned), {}
    except ValidationError as exc:
        errors: FormErrors = {}
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"][:1]) or "form"
            errors.setdefault(field, str(error["msg"]).removeprefix("Value error, "))
        return None, errors


def _required(model: type[BaseModel], field: str) -> bool:
    return model.model_fields[field].is_required()


def errors_from(exc: VeriError) -> FormErrors:
    """A service error shown next to its field when it names one, else at the top of the form."""
    if isinstance(exc.detail, list) and exc.detail and isinstance(exc.detail[0], dict):
        return {str(item.get("field", "form")): str(item.get("reason", exc.message)) for item in exc.detail}
    return {"form": exc.message}


def dollars_to_cents(values: dict[str, Any], source: str, target: str) -> None:
    """Forms ask for whole currency units; the API and the database keep minor units. A value
    that is not a number is passed on unchanged so that validation names the field."""
    raw = str(values.pop(source, "")).replace(",", "").strip()
    if not raw:
        return
    try:
        values[target] = round(float(raw) * 100)
    except (ValueError, OverflowError):  # "abc", "inf", "1e400": validation names the field
        values[target] = raw
