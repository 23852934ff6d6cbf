"""Client mistakes get a 4xx naming the field and the reason, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from tests.factories import new_client, sign_up


def _brand_with_campaign(app: FastAPI) -> tuple[object, str]:
    brand = new_client(app)
    sign_up(brand, "brand", "strict")
    campaign = brand.post("/api/v1/campaigns", json={"title": "Checked", "budget_cents": 1000}).json()
    return brand, campaign["id"]


def test_malformed_json_is_a_422(app: FastAPI) -> None:
    brand, _ = _brand_with_campaign(app)
    r = brand.post("/api/v1/campaigns", content=b"{not json", headers={"content-type": "application/json"})  # type: ignore[attr-defined]
    assert r.status_code == 422
    assert r.json()["error"] == "invalid"


def test_errors_name_the_field_and_the_reason(app: FastAPI) -> None:
    brand, _ = _brand_with_campaign(app)
    r = brand.post("/api/v1/campaigns", json={"title": "x", "budget_cents": -5, "surprise": 1})  # type: ignore[attr-defined]
    assert r.status_code == 422
    fields = {d["field"]: d["reason"] for d in r.json()["detail"]}
    assert set(fields) == {"title", "budget_cents", "surprise"}
    assert "at least 3" in fields["title"] and "greater than or equal to 0" in fields["budget_cents"]
    r = brand.post(
        "/api/v1/campaigns",
        json={
            "title": "Dates",
            "budget_cents": 1,
            "starts_on": "2026-05-02",
            "ends_on": "2026-05-01",
        },
    )  # type: ignore[attr-defined]
    assert r.status_code == 422 and "ends_on" in r.json()["message"]


def test_illegal_transition_is_a_409_listing_the_allowed_ones(app: FastAPI) -> None:
    brand, campaign_id = _brand_with_campaign(app)
    r = brand.post(f"/api/v1/campaigns/{campaign_id}/transition", json={"to": "completed"})  # type: ignore[attr-defined]
    assert r.status_code == 409
    assert r.json()["detail"] == {"status": "draft", "allowed": ["open", "cancelled"]}
    assert brand.post(f"/api/v1/campaigns/{campaign_id}/transition", json={"to": "cancelled"}).status_code == 200  # type: ignore[attr-defined]
    r = brand.patch(f"/api/v1/campaigns/{campaign_id}", json={"brief": "too late"})  # type: ignore[attr-defined]
    assert r.status_code == 409
    r = brand.post(f"/api/v1/campaigns/{campaign_id}/transition", json={"to": "open"})  # type: ignore[attr-defined]
    assert r.status_code == 409 and r.json()["detail"]["allowed"] == []


def test_bad_ids_queries_and_enums(app: FastAPI) -> None:
    brand, _ = _brand_with_campaign(app)
    assert brand.get("/api/v1/campaigns/not-a-uuid").status_code == 422  # type: ignore[attr-defined]
    assert brand.get("/api/v1/campaigns?limit=0").json()["detail"][0]["field"] == "limit"  # type: ignore[attr-defined]
    assert brand.get("/api/v1/campaigns?limit=100000").status_code == 422  # type: ignore[attr-defined]
    assert brand.get("/api/v1/campaigns?status=sleeping").status_code == 422  # type: ignore[attr-defined]
    assert brand.post("/api/v1/deals/00000000-0000-0000-0000-000000000000/dance").status_code == 422  # type: ignore[attr-defined]
    assert brand.get("/api/v1/nowhere").status_code == 404  # type: ignore[attr-defined]
    assert brand.put("/api/v1/campaigns").status_code == 405  # type: ignore[attr-defined]


def test_content_and_metrics_are_checked(app: FastAPI) -> None:
    creator = new_client(app)
    sign_up(creator, "creator", "poster")
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = creator.post(
        "/api/v1/content",
        json={"platform": "myspace", "external_id": "1", "kind": "video", "published_at": future},
    )
    assert {d["field"] for d in r.json()["detail"]} == {"platform", "published_at"}
    naive = creator.post(
        "/api/v1/content",
        json={
            "platform": "youtube",
            "external_id": "1",
            "kind": "video",
            "published_at": "2026-01-01T10:00:00",
        },
    )
    assert naive.status_code == 422 and naive.json()["detail"][0]["field"] == "published_at"
    published = datetime.now(UTC) - timedelta(days=3)
    item = creator.post(
        "/api/v1/content",
        json={
            "platform": "youtube",
            "external_id": "1",
            "kind": "video",
            "published_at": published.isoformat(),
        },
    ).json()
    dup = creator.post(
        "/api/v1/content",
        json={
            "platform": "youtube",
            "external_id": "1",
            "kind": "video",
            "published_at": published.isoformat(),
        },
    )
    assert dup.status_code == 409
    early = creator.post(
        f"/api/v1/content/{item['id']}/metrics",
        json={"captured_at": (published - timedelta(days=1)).isoformat(), "views": 1},
    )
    assert early.status_code == 422 and early.json()["detail"][0]["field"] == "captured_at"
    negative = creator.post(
        f"/api/v1/content/{item['id']}/metrics",
        json={"captured_at": published.isoformat(), "views": -1},
    )
    assert negative.status_code == 422


def test_metric_snapshots_are_idempotent(app: FastAPI) -> None:
    creator = new_client(app)
    sign_up(creator, "creator", "counter")
    published = datetime.now(UTC) - timedelta(days=3)
    item = creator.post(
        "/api/v1/content",
        json={
            "platform": "tiktok",
            "external_id": "t1",
            "kind": "short",
            "published_at": published.isoformat(),
        },
    ).json()
    at = (published + timedelta(days=1)).isoformat()
    for views in (100, 150):
        assert (
            creator.post(f"/api/v1/content/{item['id']}/metrics", json={"captured_at": at, "views": views}).status_code
            == 201
        )
    snapshots = creator.get(f"/api/v1/content/{item['id']}/metrics").json()
    assert [s["views"] for s in snapshots] == [150]
    assert creator.get(f"/api/v1/content/{item['id']}").json()["latest_metrics"]["views"] == 150


def test_html_in_user_text_is_escaped_on_pages(app: FastAPI) -> None:
    creator = new_client(app)
    sign_up(creator, "creator", "sneaky")
    creator.patch("/api/v1/creators/me", json={"bio": "<script>alert(1)</script>"})
    page = creator.get("/creator", headers={"accept": "text/html"})
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
