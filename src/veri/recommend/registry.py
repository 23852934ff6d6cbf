"""The model registry: versions stored with their metrics, the serving one loaded once per
process and reloaded when another process promotes a newer one."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from veri.models.recommend import ModelStatus, ModelVersion
from veri.recommend.features import ALL_FEATURES
from veri.recommend.model import RoiModel
from veri.recommend.training import Trained

__all__ = ["NAME", "Loaded", "ServingModel", "latest_version", "record", "serving_version", "versions"]

log = structlog.get_logger(__name__)

NAME = "roi"


def versions(db: Session, *, limit: int = 100) -> list[ModelVersion]:
    """Every version, oldest first (the registry page's chart reads them in order)."""
    statement = select(ModelVersion).where(ModelVersion.name == NAME).order_by(ModelVersion.version.desc())
    return list(reversed(db.scalars(statement.limit(limit)).all()))


def serving_version(db: Session) -> ModelVersion | None:
    statement = select(ModelVersion).where(ModelVersion.name == NAME, ModelVersion.status == ModelStatus.SERVING)
    return db.scalars(statement.order_by(ModelVersion.version.desc()).limit(1)).first()


def latest_version(db: Session) -> ModelVersion | None:
    """The newest version, whatever its status."""
    statement = select(ModelVersion).where(ModelVersion.name == NAME).order_by(ModelVersion.version.desc())
    return db.scalars(statement.limit(1)).first()


def record(db: Session, trained: Trained, *, status: ModelStatus, reason: str) -> ModelVersion:
    """Store a trained version; a serving one retires the one before it."""
    if status is ModelStatus.SERVING:
        db.execute(
            update(ModelVersion)
            .where(ModelVersion.name == NAME, ModelVersion.status == ModelStatus.SERVING)
            .values(status=ModelStatus.RETIRED)
        )
    number = (db.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.name == NAME)) or 0) + 1
    version = ModelVersion(
        name=NAME,
        version=number,
        status=status,
        trained_from=trained.trained_from,
        trained_until=trained.trained_until,
        outcomes=trained.outcomes,
        features=list(trained.model.features),
        metrics=trained.metrics,
        blob=trained.model.dumps(),
        reason=reason[:300],
    )
    db.add(version)
    db.flush()
    return version


@dataclass(frozen=True)
class Loaded:
    model: RoiModel | None  # None: no version serves yet (predictions are the prior's)
    version: int | None
    error: str = ""  # why the newest serving version could not be loaded (the previous one serves)


class ServingModel:
    """The serving version of this process: loaded on first use and again when the registry's
    serving version changes; a version that fails to load leaves the previous one serving."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded = Loaded(None, None)
        self._id: uuid.UUID | None = None

    def get(self, db: Session) -> Loaded:
        row = db.execute(
            select(ModelVersion.id, ModelVersion.version)
            .where(ModelVersion.name == NAME, ModelVersion.status == ModelStatus.SERVING)
            .order_by(ModelVersion.version.desc())
            .limit(1)
        ).first()
        if row is None or row.id == self._id:
            return self._loaded
        with self._lock:
            if row.id != self._id:
                blob = db.scalar(select(ModelVersion.blob).where(ModelVersion.id == row.id))
                try:
                    model = RoiModel.loads(blob or b"")
                    unknown = set(model.features) - set(ALL_FEATURES)
                    if unknown:
                        raise ValueError(f"features no longer computed: {sorted(unknown)}")
                except Exception as exc:  # a broken version must not take predictions down
                    log.error("model_load_failed", version=row.version, error=str(exc))
                    self._loaded = Loaded(self._loaded.model, self._loaded.version, f"v{row.version}: {exc}"[:300])
                else:
                    self._loaded = Loaded(model, row.version)
                self._id = row.id
        return self._loaded
