"""tasks, proofs, reviews, points, streaks, badges, VeriScores (issue 15)

Revision ID: f15a0000a001
Revises: e4a1b2c3d5f6
Create Date: 2026-12-03 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "f15a0000a001"
down_revision: str | None = "e4a1b2c3d5f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "creator_standings",
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("timezone", sa.String(length=60), nullable=False),
        sa.Column("niches", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("platforms", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("best_streak", sa.Integer(), nullable=False),
        sa.Column("last_active_on", sa.Date(), nullable=True),
        sa.Column("grace_used_on", sa.Date(), nullable=True),
        sa.Column("counters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("badges", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("evidence_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("veriscore", sa.Float(), nullable=True),
        sa.Column("breakdown", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("creator_id", name=op.f("pk_creator_standings")),
    )
    op.create_table(
        "loop_content",
        sa.Column("content_id", sa.Uuid(), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("likes", sa.BigInteger(), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("history", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.PrimaryKeyConstraint("content_id", name=op.f("pk_loop_content")),
    )
    op.create_index(op.f("ix_loop_content_creator_id"), "loop_content", ["creator_id"], unique=False)
    op.create_table(
        "points_ledger",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("asked", sa.Integer(), nullable=False),
        sa.Column("earned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_points_ledger")),
    )
    op.create_index(op.f("ix_points_ledger_creator_id"), "points_ledger", ["creator_id"], unique=False)
    op.create_table(
        "proof_files",
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proof_files")),
    )
    op.create_index(op.f("ix_proof_files_creator_id"), "proof_files", ["creator_id"], unique=False)
    op.create_index(op.f("ix_proof_files_sha256"), "proof_files", ["sha256"], unique=False)
    op.create_table(
        "veriscore_history",
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("veriscore", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("creator_id", "day", name=op.f("pk_veriscore_history")),
    )
    op.create_table(
        "tasks",
        sa.Column(
            "kind",
            sa.Enum(
                "post",
                "views",
                "deliverable",
                "screenshot",
                "profile",
                "connect",
                "first_deal",
                name="task_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=160), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("brand_id", sa.Uuid(), nullable=True),
        sa.Column("campaign_id", sa.Uuid(), nullable=True),
        sa.Column("deal_id", sa.Uuid(), nullable=True),
        sa.Column("creator_id", sa.Uuid(), nullable=True),
        sa.Column("hashtag", sa.String(length=60), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("views_target", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_tasks_created_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index(op.f("ix_tasks_brand_id"), "tasks", ["brand_id"], unique=False)
    op.create_index(op.f("ix_tasks_campaign_id"), "tasks", ["campaign_id"], unique=False)
    op.create_index(op.f("ix_tasks_creator_id"), "tasks", ["creator_id"], unique=False)
    op.create_index(op.f("ix_tasks_deal_id"), "tasks", ["deal_id"], unique=False)
    op.create_table(
        "task_submissions",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "accepted",
                "pending",
                "needs_review",
                "verified",
                "rejected",
                name="task_submission_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("proof_kind", sa.String(length=20), nullable=False),
        sa.Column("proof_url", sa.String(length=500), nullable=False),
        sa.Column("content_id", sa.Uuid(), nullable=True),
        sa.Column("claimed_views", sa.BigInteger(), nullable=False),
        sa.Column("proof_file_id", sa.Uuid(), nullable=True),
        sa.Column("image_hash", sa.String(length=16), nullable=True),
        sa.Column("flags", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["proof_file_id"],
            ["proof_files.id"],
            name=op.f("fk_task_submissions_proof_file_id_proof_files"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_submissions_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_submissions")),
        sa.UniqueConstraint("task_id", "creator_id", name=op.f("uq_task_submissions_task_id_creator_id")),
    )
    op.create_index(op.f("ix_task_submissions_creator_id"), "task_submissions", ["creator_id"], unique=False)
    op.create_index(op.f("ix_task_submissions_image_hash"), "task_submissions", ["image_hash"], unique=False)
    op.create_table(
        "task_reviews",
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["task_submissions.id"],
            name=op.f("fk_task_reviews_submission_id_task_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_reviews")),
    )
    op.create_index(op.f("ix_task_reviews_submission_id"), "task_reviews", ["submission_id"], unique=False)
    op.add_column("creators", sa.Column("timezone", sa.String(length=60), server_default="UTC", nullable=False))


def downgrade() -> None:
    op.drop_column("creators", "timezone")
    for table in (
        "task_reviews",
        "task_submissions",
        "tasks",
        "veriscore_history",
        "proof_files",
        "points_ledger",
        "loop_content",
        "creator_standings",
    ):
        op.drop_table(table)
