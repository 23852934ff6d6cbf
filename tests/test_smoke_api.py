"""The basic path through the API: sign up, profile, campaign, application, deal."""

from __future__ import annotations

from fastapi import FastAPI

from tests.factories import new_client, sign_up


def test_brand_opens_campaign_and_creator_applies(app: FastAPI) -> None:
    brand = new_client(app)
    creator = new_client(app)
    sign_up(brand, "brand", "acme")
    sign_up(creator, "creator", "maya")

    campaign = brand.post(
        "/api/v1/campaigns",
        json={
            "title": "Spring launch",
            "budget_cents": 500_000,
            "niches": ["Fitness"],
            "platforms": ["youtube"],
        },
    )
    assert campaign.status_code == 201, campaign.text
    body = campaign.json()
    assert body["status"] == "draft"
    assert body["niches"] == ["fitness"]
    assert body["allowed_transitions"] == ["open", "cancelled"]

    assert creator.get(f"/api/v1/campaigns/{body['id']}").status_code == 404  # drafts are private
    opened = brand.post(f"/api/v1/campaigns/{body['id']}/transition", json={"to": "open"})
    assert opened.status_code == 200 and opened.json()["status"] == "open"

    deal = creator.post("/api/v1/deals", json={"campaign_id": body["id"], "fee_cents": 120_000})
    assert deal.status_code == 201, deal.text
    deal_id = deal.json()["id"]
    assert deal.json()["allowed_actions"] == ["withdraw"]

    seen_by_brand = brand.get(f"/api/v1/deals/{deal_id}").json()
    assert seen_by_brand["allowed_actions"] == ["accept", "counter", "decline"]
    countered = brand.post(f"/api/v1/deals/{deal_id}/counter", json={"fee_cents": 100_000, "message": "Meet halfway?"})
    assert countered.status_code == 200
    accepted = creator.post(f"/api/v1/deals/{deal_id}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["accepted_fee_cents"] == 100_000
    assert [o["by"] for o in accepted.json()["offers"]] == ["creator", "brand"]
