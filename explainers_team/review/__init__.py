"""Blind forced-choice review studies: which of two explanations do people find more convincing?

No Streamlit here; :mod:`.studies` joins them to the store.

- :mod:`.stats`: Wilson interval, exact binomial (sign) test, Fleiss' and Cohen's kappa.
- :mod:`.design`: conditions, per-reviewer order and sides (keyed by the study's secret), trial preparation.
- :mod:`.results`: answers -> summary (preference, agreement, position bias, times), faithfulness, exports,
  and the verdict in words.
- :mod:`.studies`: studies kept in the store: creating one, each reviewer's plan, answers -> results.
"""

from .design import (
    CHOICES,
    CONDITIONS,
    DEFAULT_QUESTION,
    OUTCOMES,
    Assignment,
    PreparedTrial,
    check_conditions,
    choice_to_outcome,
    decode_png,
    default_conditions,
    encode_png,
    prepare_trials,
    reviewer_plan,
)
from .results import (
    ANSWER_COLUMNS,
    SUMMARY_COLUMNS,
    Answer,
    Verdict,
    agreement,
    answers_csv,
    attach_faithfulness,
    condition_titles,
    decided_answers_needed,
    faithfulness_summary,
    read_answers_csv,
    summarize,
    summary_csv,
    summary_json,
    summary_rows,
    tally,
    trial_majority,
    verdict,
)
from .stats import (
    Kappa,
    binomial_test,
    cohen_kappa,
    fleiss_kappa,
    fleiss_table,
    kappa_interpretation,
    sign_test,
    wilson_interval,
)

__all__ = [
    "ANSWER_COLUMNS",
    "CHOICES",
    "CONDITIONS",
    "DEFAULT_QUESTION",
    "OUTCOMES",
    "SUMMARY_COLUMNS",
    "Answer",
    "Assignment",
    "Kappa",
    "PreparedTrial",
    "Verdict",
    "agreement",
    "answers_csv",
    "attach_faithfulness",
    "binomial_test",
    "check_conditions",
    "choice_to_outcome",
    "cohen_kappa",
    "condition_titles",
    "decided_answers_needed",
    "decode_png",
    "default_conditions",
    "encode_png",
    "faithfulness_summary",
    "fleiss_kappa",
    "fleiss_table",
    "kappa_interpretation",
    "prepare_trials",
    "read_answers_csv",
    "reviewer_plan",
    "sign_test",
    "summarize",
    "summary_csv",
    "summary_json",
    "summary_rows",
    "tally",
    "trial_majority",
    "verdict",
    "wilson_interval",
]
