"""Method: CAM and SeCAM explained on the current photo, with the model's own numbers."""

import numpy as np
import streamlit as st

from ui.app import page, session
from ui.text import md
from ui.views import method
from ui.widgets import controls

page.setup("Method", script="pages/method.py", heading="How CAM and SeCAM work")
selection = session.require()
with session.guard("the Method page"):
    model = selection.model
    forward = method.forward(selection)
    target = controls.target_class(selection, forward)
    pair = method.explain_pair(selection, forward, target)
    cam, secam = pair.cam, pair.secam
    channels, fh, fw = (int(d) for d in forward.features.shape)
    height, width = selection.image.shape[:2]

    st.header("1. CAM")
    st.markdown(
        f"The photo ({width}x{height} px) is resized to {model.input_size}x{model.input_size} and run through "
        f"**{md(model.name)}**. Its feature layer `{model.feature_layer}` gives **{fh}x{fw}x{channels}** "
        f"numbers for this photo: {channels} feature maps $f_k$ of {fh}x{fw} cells, each cell seeing about "
        f"{width / fw:.0f}x{height / fh:.0f} px of the photo. The head averages each map (global average pooling) "
        f"and applies the linear classifier `{model.classifier}`:")
    st.latex(r"S_c \;=\; \sum_{k=1}^{" + str(channels) + r"} w_k^c \,\frac{1}{hw}\sum_{x,y} f_k(x,y) \;+\; b_c")
    st.markdown("Moving the sum over cells outside gives the class activation map, whose mean is the score:")
    st.latex(r"M_c(x,y) \;=\; \sum_k w_k^c\, f_k(x,y), \qquad S_c \;=\; \frac{1}{hw}\sum_{x,y} M_c(x,y) + b_c")
    st.latex(r"\mathrm{CAM}_c \;=\; \mathrm{upsample}_{H\times W}\!\left(\frac{M_c - \min M_c}{\max M_c - \min M_c}\right)")
    check = model.gap_check
    st.caption(f"GAP check for {md(model.name)}: {'exact' if check.exact else 'NOT exact'} "
               f"(max error {check.max_error:.2g}, tolerance {check.tolerance:.2g}): {md(check.detail)}.")

    st.subheader(f"The channels behind '{md(cam.label)}'")
    contributions, b_c, features = method.contributions(selection, pair, target)
    a, b, c = st.columns(3)
    a.metric("Sum of contributions + bias", f"{contributions.sum() + b_c:.3f}")
    b.metric("Logit of the class", f"{cam.logit:.3f}")
    c.metric("Top 12 channels' share", f"{np.sort(contributions)[::-1][:12].sum() / contributions.sum():.0%}"
             if contributions.sum() > 0 else "n/a")
    st.markdown(r"Each channel contributes $w_k^c \cdot \overline{f_k}$ (its weight times its mean activation); "
                "the sum plus the bias is the logit above. The biggest contributions, and their feature maps:")
    left, right = st.columns([2, 3])
    bars, feature_maps = method.contribution_figures(contributions, features, cam.label)
    left.plotly_chart(bars, key="contributions")
    right.plotly_chart(feature_maps, key="feature_maps")
    right.caption(f"Feature maps at the model's own {fh}x{fw} resolution (each with its own colour range).")

    st.header("2. SeCAM")
    st.markdown("SeCAM scores regions instead of pixels: SLIC cuts the photo into superpixels $R_j$ that follow "
                "colour edges, and each superpixel gets the mean of the (positive) CAM over its pixels:")
    st.latex(r"\widehat M_c \;=\; \mathrm{upsample}_{H\times W}\!\left(\frac{\max(M_c, 0)}{\max M_c}\right), \qquad "
             r"s_j \;=\; \frac{1}{|R_j|}\sum_{(x,y)\in R_j} \widehat M_c(x,y)")
    st.latex(r"\text{keep } R_j \iff s_j \;>\; t \cdot \max_i s_i \qquad (t = "
             + f"{secam.params['threshold']:.2f})")

    st.subheader("SLIC's parameters and their effect")
    labels = pair.superpixels
    n_real = int(np.unique(labels.full).size)
    if labels.working is None:
        where = f"on the full {width}x{height} px photo"
    else:
        where = (f"on a {labels.working.shape[1]}x{labels.working.shape[0]} px copy of the {width}x{height} px photo "
                 "(labels mapped back to full resolution; switch on 'Full-resolution SLIC' in the sidebar for exact)")
    st.markdown(
        f"**n_segments = {selection.n_segments}** (about how many superpixels; this photo got **{n_real}**, "
        f"{100.0 / n_real:.1f}% of the photo each on average) and **compactness = {selection.compactness:g}** "
        f"(higher: squarer superpixels that follow colour edges less). SLIC ran {where} in "
        f"{labels.seconds * 1000:.0f} ms. Change both in the sidebar. "
        "Fewer superpixels give a coarser, blockier SeCAM; more give a finer one that tends towards the CAM.")
    effect, (small_h, small_w) = method.slic_effect(selection)
    st.plotly_chart(effect, key="slic_effect")
    st.caption(f"Illustration on a {small_w}x{small_h} px preview at compactness "
               f"{selection.compactness:g}; the explanations use the full-resolution photo.")

    st.subheader("How our SeCAM differs from the tutorial's code")
    survivors, total = method.tutorial_survivors(pair)
    st.markdown(
        f"- **Resolution.** The tutorial shrinks the SLIC labels to the {fh}x{fw} CAM grid and averages there. "
        f"On this photo only **{survivors} of {total}** superpixels survive that shrink; the others get no "
        f"score at all, and each survivor is scored from a few cells. We upsample the CAM to the "
        f"{width}x{height} px photo instead and average over every pixel of every superpixel.\n"
        "- **Colours.** The tutorial passes OpenCV's BGR image to SLIC, which works in CIELAB and expects RGB; "
        "we pass RGB, so superpixels follow the real colour edges.\n"
        r"- **Normalisation.** Scores use $\max(M_c,0)/\max M_c$, so negative evidence never raises a region "
        "and scores of different photos are on the same [0, 1] scale.\n"
        "- **Threshold.** A superpixel is kept when its score exceeds t x the best score (relative), and "
        "changing t only re-masks: no new forward pass, no new SLIC.\n"
        "- **Preprocessing.** The whole photo is resized (no centre crop), so the map covers all of it.")
