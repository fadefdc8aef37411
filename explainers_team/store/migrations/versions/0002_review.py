"""Blind review: studies, their prepared trials and maps, and reviewers' answers.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "studies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("creator_id", sa.String(200), nullable=False),
        sa.Column("creator_name", sa.String(200), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("closed_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_studies"),
    )
    op.create_index("ix_studies_creator_id", "studies", ["creator_id"])
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("photo_sha256", sa.String(64), nullable=False),
        sa.Column("class_index", sa.Integer(), nullable=False),
        sa.Column("class_label", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["studies.id"], name="fk_trials_study_id_studies", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["photo_sha256"], ["photos.sha256"], name="fk_trials_photo_sha256_photos",
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_trials"),
        sa.UniqueConstraint("study_id", "position", name="uq_trials_study_id_position"),
    )
    op.create_index("ix_trials_study_id", "trials", ["study_id"])
    op.create_index("ix_trials_photo_sha256", "trials", ["photo_sha256"])
    op.create_table(
        "trial_maps",
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("condition", sa.Integer(), nullable=False),
        sa.Column("picture_type", sa.String(50), nullable=False),
        sa.Column("picture", sa.LargeBinary(), nullable=False),
        sa.Column("saliency", sa.LargeBinary(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["trial_id"], ["trials.id"], name="fk_trial_maps_trial_id_trials", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("trial_id", "condition", name="pk_trial_maps"),
    )
    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.String(200), nullable=False),
        sa.Column("reviewer_name", sa.String(200), nullable=False),
        sa.Column("choice", sa.String(16), nullable=False),
        sa.Column("left_condition", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("answered_at", TS, nullable=False),
        sa.CheckConstraint("choice IN ('left', 'right', 'equal', 'cant_tell')", name="ck_answers_choice"),
        sa.CheckConstraint("left_condition IN (0, 1)", name="ck_answers_left_condition"),
        sa.ForeignKeyConstraint(["trial_id"], ["trials.id"], name="fk_answers_trial_id_trials", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_answers"),
        sa.UniqueConstraint("trial_id", "reviewer_id", name="uq_answers_trial_id_reviewer_id"),
    )
    op.create_index("ix_answers_trial_id", "answers", ["trial_id"])
    op.create_index("ix_answers_reviewer_id", "answers", ["reviewer_id"])


def downgrade() -> None:
    op.drop_index("ix_answers_reviewer_id", table_name="answers")
    op.drop_index("ix_answers_trial_id", table_name="answers")
    op.drop_table("answers")
    op.drop_table("trial_maps")
    op.drop_index("ix_trials_photo_sha256", table_name="trials")
    op.drop_index("ix_trials_study_id", table_name="trials")
    op.drop_table("trials")
    op.drop_index("ix_studies_creator_id", table_name="studies")
    op.drop_table("studies")
