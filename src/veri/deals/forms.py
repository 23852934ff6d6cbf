"""The form that opens a deal, shared by the pages that offer it: a creator applying from a
campaign's page, a brand inviting from a creator's profile."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from veri.deals import service
from veri.deals.schemas import DealCreate
from veri.errors import VeriError
from veri.identity.principal import Principal
from veri.models.deals import Deal
from veri.web.forms import FormErrors, dollars_to_cents, errors_from, parse_form

__all__ = ["open_deal_from_form"]


def open_deal_from_form(
    db: Session, principal: Principal, values: dict[str, Any], **fixed: str
) -> tuple[Deal | None, FormErrors]:
    """The deal the form asks for (the fee in whole currency units, `fixed` fields from the URL),
    or the errors to show beside the form's fields."""
    values = dict(values)
    dollars_to_cents(values, "fee", "fee_cents")
    data, errors = parse_form(DealCreate, {**values, **fixed})
    if data is not None:
        try:
            with db.begin_nested():
                return service.create_deal(db, principal=principal, data=data), {}
        except VeriError as exc:
            errors = errors_from(exc)
    if "fee_cents" in errors:
        errors["fee"] = errors.pop("fee_cents")
    return None, errors
