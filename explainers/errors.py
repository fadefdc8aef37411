"""Exceptions raised by the library.

Every error a user can cause derives from :class:`ExplainersError`, so a caller
(the CLI, the dashboard) can show its message in one line instead of a traceback.
Each subclass also derives from the matching built-in (``ValueError``,
``FileNotFoundError``...) so ordinary ``except ValueError`` code keeps working.
"""

from __future__ import annotations


class ExplainersError(Exception):
    """Base class of every error the library raises on bad input."""


class RegistryError(ExplainersError, ValueError):
    """A model registry file or one of its entries is malformed or unknown."""


class WeightsUnavailableError(ExplainersError, RuntimeError):
    """A model's weights cannot be loaded here (not cached and no network, missing file...)."""


class CamNotExactError(ExplainersError, ValueError):
    """The model's head is not global-average-pooling + linear, so CAM would not be exact."""


class ImageError(ExplainersError, ValueError):
    """An image file or array cannot be used (unreadable, too big, too small...)."""


class ParameterError(ExplainersError, ValueError):
    """An explainer parameter is out of its valid range."""


class Cancelled(Exception):
    """A computation was stopped by its caller (a newer run, a Cancel button, a closed session); not an error."""
