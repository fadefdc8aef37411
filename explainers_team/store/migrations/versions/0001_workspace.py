"""Workspace: photos, saved items, their tags and thumbnails.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "photos",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("original_name", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(50), nullable=False),
        sa.Column("byte_size", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("uploader_id", sa.String(200), nullable=False),
        sa.Column("uploader_name", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_photos"),
    )
    op.create_index("ix_photos_uploader_id", "photos", ["uploader_id"])
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("author_id", sa.String(200), nullable=False),
        sa.Column("author_name", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("methods", sa.JSON(), nullable=False),
        sa.Column("class_index", sa.Integer(), nullable=False),
        sa.Column("class_label", sa.String(200), nullable=False),
        sa.Column("view", sa.JSON(), nullable=False),
        sa.Column("predictions", sa.JSON(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=True),
        sa.Column("photo_sha256", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["photo_sha256"], ["photos.sha256"], name="fk_items_photo_sha256_photos",
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_items"),
    )
    op.create_index("ix_items_author_id", "items", ["author_id"])
    op.create_index("ix_items_photo_sha256", "items", ["photo_sha256"])
    op.create_index("ix_items_class_index", "items", ["class_index"])
    op.create_index("ix_items_created_at", "items", ["created_at"])
    op.create_table(
        "item_tags",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name="fk_item_tags_item_id_items", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", "tag", name="pk_item_tags"),
    )
    op.create_index("ix_item_tags_tag", "item_tags", ["tag"])
    op.create_table(
        "item_thumbnails",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(50), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name="fk_item_thumbnails_item_id_items",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", "position", name="pk_item_thumbnails"),
    )


def downgrade() -> None:
    op.drop_table("item_thumbnails")
    op.drop_index("ix_item_tags_tag", table_name="item_tags")
    op.drop_table("item_tags")
    for name in ("ix_items_created_at", "ix_items_class_index", "ix_items_photo_sha256", "ix_items_author_id"):
        op.drop_index(name, table_name="items")
    op.drop_table("items")
    op.drop_index("ix_photos_uploader_id", table_name="photos")
    op.drop_table("photos")
