"""Faithfulness metrics, a sanity check, and paired statistics between methods.

A metric is a class with a name, its parameters, a direction (higher or lower is better) and a cost,
registered like a method (:func:`register_metric`, or the entry-point group ``explainers.metrics``;
see :mod:`explainers.plugins`). Each measures many (photo, map, class) triples of one model in shared
forward batches (:class:`Metric.measure`, :class:`MapBatch`).

- :mod:`.base`: the interface, the registry, :class:`MapBatch`, the batched scorer.
- :mod:`.faithfulness`: deletion and insertion (Petsiuk et al., 2018), :func:`faithfulness`, the random map.
- :mod:`.road`: ROAD, most and least relevant first (Rong et al., 2022).
- :mod:`.irof`: IROF (Rieger and Hansen, 2020).
- :mod:`.confidence`: Average Drop and Increase in Confidence (Chattopadhay et al., 2018).
- :mod:`.sanity`: the cascading model-parameter randomisation check (Adebayo et al., 2018).
- :mod:`.compare`: two methods on the same photos: paired tests, effect sizes, agreement between metrics.
"""

# isort: off  (the order of registration is the order the CLI and the pages list the metrics)
from .base import (
    BATCH_SIZE,
    HIGHER,
    LOWER,
    METRICS,
    MapBatch,
    Metric,
    Scores,
    builtin_metrics,
    class_probabilities,
    get_metric,
    list_metrics,
    measure_all,
    register_metric,
)
from .faithfulness import (
    DEFAULT_STEPS,
    FAITHFULNESS_PARAMETERS,
    Deletion,
    Faithfulness,
    Insertion,
    auc,
    blurred,
    curve_copies,
    faithfulness,
    kept_fraction,
    pixel_order,
    random_saliency,
    removal_curves,
)
from .road import ROADLeastRelevantFirst, ROADMostRelevantFirst, linear_imputation
from .irof import IROF, segment_order
from .confidence import AverageDrop, IncreaseInConfidence

# isort: on
from .compare import (
    MethodComparison,
    MetricAgreement,
    PairedComparison,
    compare_methods,
    metric_agreement,
    paired_comparison,
)
from .sanity import RandomisationCheck, layer_groups, map_similarity, randomisation_check, randomised_cascade

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_STEPS",
    "curve_copies",
    "FAITHFULNESS_PARAMETERS",
    "HIGHER",
    "IROF",
    "LOWER",
    "METRICS",
    "AverageDrop",
    "Deletion",
    "Faithfulness",
    "IncreaseInConfidence",
    "Insertion",
    "MapBatch",
    "MethodComparison",
    "Metric",
    "MetricAgreement",
    "PairedComparison",
    "ROADLeastRelevantFirst",
    "ROADMostRelevantFirst",
    "RandomisationCheck",
    "Scores",
    "auc",
    "blurred",
    "builtin_metrics",
    "class_probabilities",
    "compare_methods",
    "faithfulness",
    "get_metric",
    "kept_fraction",
    "layer_groups",
    "linear_imputation",
    "list_metrics",
    "map_similarity",
    "measure_all",
    "metric_agreement",
    "paired_comparison",
    "pixel_order",
    "random_saliency",
    "randomisation_check",
    "randomised_cascade",
    "register_metric",
    "removal_curves",
    "segment_order",
]
