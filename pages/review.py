"""Review: blind forced-choice studies of two explanations (create, answer, results); see docs/REVIEW.md."""

import streamlit as st

from ui.app import identity, page, session
from ui.views import review

view = review.current_view()
# the same setup and login gate as every page; a trial names no method or model: a neutral tab title, no sidebar
page.setup("Review", script="pages/review.py", blind=view.mode == "answer")
store = review.open_store()
user = identity.current_user()

with session.guard("the Review page"):  # a database failure is a message, never a traceback
    if view.mode == "answer":
        review.answer_view(store, view.study, user)
    elif view.mode == review.RESULTS:
        review.results_view(store, view.study, user)
    else:
        created = st.session_state.pop("review_created", None)
        if created is not None:
            st.session_state.pop("review_new_name", None)  # the next study starts with an empty name
            st.success(f"Study {created} created. Share its review link with the team: "
                       f"`{review.review_link(created)}`")
        review.list_view(store, user, view.problem)
