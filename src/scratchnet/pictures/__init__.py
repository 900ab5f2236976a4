"""Pictures: from a user's photo or scan to the model's 28x28 input, and on to an answer.

    from scratchnet import load_model, predict_images
    records = predict_images(load_model("scratchnet-mnist.npz"), ["my-digit.jpg", "scans/"])

The steps, one function each (NumPy; Pillow only decodes files): ink_is_dark / orient,
remove_paper (uneven light; paper_offset puts the paper at its most common level as far as
noise_level explains), denoise (median filter that keeps the strokes), otsu_threshold,
remove_lines (ruled lines, box borders), keep_digit (connected strokes, no specks), thicken
or thin (the stroke width toward MNIST's), then mnist_form (20x20 box centred by mass in
28x28) or fit_object (Fashion-MNIST's whole object). prepare_digit / prepare_object run them in
order.
"""

from .components import Component, count_pieces, label_components
from .decode import as_gray, decode_gray, read_gray
from .filters import box_blur, max_filter, median_filter, min_filter
from .form import centre_by_mass, fit_box, fit_object, mnist_form
from .pipeline import (
    Prepared,
    digit_candidates,
    prepare,
    prepare_candidates,
    prepare_digit,
    prepare_object,
)
from .predict import Reader, expand_inputs, predict_images, predict_picture, prepare_pictures
from .steps import (
    Polarity,
    denoise,
    ink_is_dark,
    keep_digit,
    noise_level,
    orient,
    otsu_threshold,
    paper_offset,
    paper_surface,
    polarity,
    remove_lines,
    remove_paper,
    stroke_width,
    thicken,
    thin,
)
from .typical import Typicality, shape_features

__all__ = [
    "Component",
    "Polarity",
    "Prepared",
    "Reader",
    "Typicality",
    "as_gray",
    "box_blur",
    "centre_by_mass",
    "count_pieces",
    "decode_gray",
    "denoise",
    "digit_candidates",
    "expand_inputs",
    "fit_box",
    "fit_object",
    "ink_is_dark",
    "keep_digit",
    "label_components",
    "max_filter",
    "median_filter",
    "min_filter",
    "mnist_form",
    "noise_level",
    "orient",
    "otsu_threshold",
    "paper_offset",
    "paper_surface",
    "polarity",
    "predict_images",
    "predict_picture",
    "prepare",
    "prepare_candidates",
    "prepare_digit",
    "prepare_object",
    "prepare_pictures",
    "read_gray",
    "remove_lines",
    "remove_paper",
    "shape_features",
    "stroke_width",
    "thicken",
    "thin",
]
