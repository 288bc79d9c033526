"""Hints for a failed check, by the key of the failing property: the one home of every hint text.

A check fails with ``fail(message, hint=KEY)`` (:mod:`course.compare`); course-selfcheck (and the grader's report)
shows the hint of that key below the message, in the learner's language (the texts are catalog messages, marked
with ``N_`` and translated by :func:`hint_for`). Messages from places that set no key (the sandbox, older checks)
get the hint of the first pattern in :data:`PATTERNS` found in the message's English (a :class:`course.i18n.Text`
remembers it; a failure gets that key where it is raised, in :class:`course.compare.CheckFailure`), so the hint does
not depend on the language.
"""

from __future__ import annotations

from course.i18n import N_, english_of, gettext

HINTS = {
    "not_implemented": N_("Replace `raise NotImplementedError()` in the exercise cell with your code, run the cell, "
                          "then run the visible tests below it."),
    "not_defined": N_("Define the function in its exercise cell under its original name (did you rename it, delete "
                      "the cell, or does the cell raise an error?)."),
    "not_own_function": N_("Write the function yourself in its exercise cell; imported or assigned functions are not "
                           "accepted."),
    "timeout": N_("Your code is far too slow or never stops: look for a loop whose condition never changes, and use "
                  "NumPy operations instead of Python loops over elements."),
    "crashed": N_("Your code ended the Python process (os._exit, a crash, or running out of memory: look for arrays "
                  "far larger than the inputs)."),
    "raised": N_("Your function raised an error on the input described in the message: call it on an input of those "
                 "shapes in a cell to see the traceback."),
    "raised_KeyError": N_("Your function looked up a dict key that is not there: use exactly the key names the "
                          "docstring gives (e.g. 'W1', 'b1', numbered from 1) and derive them from the number of "
                          "layers you were given, not from a fixed list."),
    "raised_IndexError": N_("An index went past the end of an array or list: check your loop bounds and which axis "
                            "you index (batch-first: axis 0 is the example)."),
    "raised_ValueError": N_("NumPy could not combine your arrays (shapes that do not match in a product, a broadcast "
                            "or a reshape), or your code rejected a valid input: print the shapes of your intermediate "
                            "arrays for the input in the message."),
    "raised_TypeError": N_("A value of the wrong kind reached an operation (e.g. a tuple where an array was expected, "
                           "or a float used as a shape or index): check the types the docstring gives."),
    "raised_ZeroDivisionError": N_("A Python division by zero: a count or size of 0 reached a `/`."),
    "raised_expected_error": N_("The docstring says this input must raise an error: check for it and `raise` it "
                                "explicitly (with the exception type the docstring names) instead of returning a "
                                "result."),
    "inplace": N_("Your function changed something it was given (the message says which argument and where, even "
                  "inside a tuple or dict): build new arrays (`x = x + ...`, `.copy()`) instead of `+=`, `[...] =` "
                  "or `d[k] = ...` on the inputs."),
    "inplace_required": N_("This function must update the given arrays themselves (`p -= lr * g` on each array): "
                           "rebinding a name or returning new arrays leaves the caller's arrays unchanged."),
    "inplace_perturb": N_("Perturb the array you were given itself (`old = x[idx]; x[idx] = old + h; ...; x[idx] = "
                          "old`), not a copy: a network's loss reads its weight arrays directly and ignores the "
                          "argument f gets, so only a change to x itself reaches it."),
    "return_type": N_("The value is right but its type is not the one the docstring promises: wrap a NumPy result in "
                      "float(...) to return a Python float."),
    "float32": N_("Your numbers agree with the expected ones to about 7 digits, the precision of float32: keep the "
                  "input's dtype (float64 in, float64 out; no .astype(np.float32), no float32 constants or buffers "
                  "such as np.zeros(..., dtype=np.float32)), and compute in float64 when the input is float64."),
    "saturation": N_("Your output stops changing beyond some input value: something clips or saturates the input "
                     "(np.clip, a max/min bound). Compute the formula in a form that is exact for every input (for "
                     "the sigmoid: exp(-|x|), which never overflows) instead of clipping."),
    "grad_scale": N_("Every gradient is off by the same factor: look at the one place that scales all of them, the "
                     "gradient of the loss with respect to the output (the 1/N or 1/(N * D_out) of the mean)."),
    "striding": N_("Taking every f-th pixel (hr[:, ::f, ::f]) keeps one pixel of each block; downsampling by a box "
                   "filter averages the whole f x f block (reshape, then mean over the two block axes)."),
    "pool_max_only": N_("Max-pooling's output depends only on the maximum of each window, so only that position gets "
                        "the gradient (dout); every other position of the window gets 0."),
    "dout_layout": N_("Reshape dout (N, F, Ho, Wo) to (F, N * Ho * Wo) after moving F first (transpose(1, 0, 2, 3)): "
                      "the columns must follow im2col's (n, i, j) order."),
    "fp_overflow": N_("NumPy overflowed: exp of a large positive number is inf. Rewrite with exp(-|x|) (and log1p); "
                      "note that np.where computes BOTH branches for every element, so the branch it discards still "
                      "overflows."),
    "fp_invalid": N_("NumPy produced nan (inf - inf, 0 * inf, 0 / 0 or the log of a negative number): find the "
                     "intermediate value that becomes inf or nan for the extreme inputs in the message."),
    "fp_divide": N_("NumPy divided by zero or took log(0), e.g. the log of a probability that rounded to 0: compute "
                    "the logarithm from the logits directly (log-sum-exp) instead of log(p)."),
    "warning": N_("Your function raised a warning on the input in the message; the exercise asks for code that "
                  "runs without warnings."),
    "shape": N_("Check the shape of what you return against the docstring (batch-first: one row per example); watch "
                "for missing or extra axes, e.g. (N, 1) instead of (N,)."),
    "tuple": N_("Return exactly the values the docstring lists, as a tuple in that order."),
    "numeric": N_("Return NumPy arrays or numbers (did you forget a `return`, or return a list of arrays?)."),
    "nonfinite": N_("Something overflows or divides by zero: look at exp/log of large values and at divisions."),
    "values": N_("The shape is right but some values differ: the message names the output, the input case and the "
                 "first wrong entry (yours and the expected one). Reproduce that case in a cell and follow that one "
                 "entry through your computation."),
    "dtype": N_("The result has the wrong data type: compute in floating point (e.g. `x.astype(np.float64)` for "
                "uint8 images) and return the dtype the docstring gives."),
    "too_slow": N_("Not fast enough: loop only over the kernel offsets (kh * kw iterations) in im2col/col2im, never "
                   "over windows, pixels or images, and do the rest with one matrix product."),
    "permutation_per_epoch": N_("Draw a new order at the start of EVERY epoch (`rng.permutation(N)` inside the epoch "
                                "loop), not once before the loop."),
    "stale_prediction": N_("Predict each example with the CURRENT weights, right before its update (inside the loop "
                           "over examples), not from predictions computed once per epoch."),
    "rng_usage": N_("Take every random draw from the generator you are given (`rng.permutation`, `rng.normal`, ...), "
                    "never from np.random: then the same seed gives the same result."),
    "distribution": N_("The values have the right shape but the wrong distribution: compare their mean, standard "
                       "deviation and shape (Gaussian or uniform) with what the docstring states."),
    "layout": N_("The right numbers in the wrong places: check the documented layout (which index varies fastest) "
                 "on a batch with several images and channels; a wrong axis order still passes with one of each."),
    "accumulate": N_("Where windows overlap, their contributions must be added (`+=`), not assigned (`=`)."),
    "cache_contents": N_("The cache holds the wrong values: store exactly what the docstring lists (e.g. the "
                         "pre-activation Z, not the activation A: they differ wherever Z < 0)."),
}

# For messages without a key (from the sandbox, or older checks): the first matching pattern decides.
PATTERNS = [
    ("not implemented", "not_implemented"),
    ("is not defined", "not_defined"),
    ("must be a function written", "not_own_function"),
    ("did not finish within", "timeout"),
    ("crashed", "crashed"),
    ("has shape", "shape"),
    ("should return a tuple", "tuple"),
    ("nan or inf", "nonfinite"),
    ("modified its input", "inplace"),
    ("raised KeyError", "raised_KeyError"),
    ("raised IndexError", "raised_IndexError"),
    ("raised ValueError", "raised_ValueError"),
    ("raised TypeError", "raised_TypeError"),
    ("raised RuntimeWarning: overflow", "fp_overflow"),
    ("raised", "raised"),
    ("is wrong", "values"),
]


def hint_key(message: str, key: str | None = None) -> str | None:
    """The failing property: ``key`` (from the check), else the first pattern found in the message's English
    (:func:`course.i18n.english_of`: a message filled through the catalog remembers it), else None."""
    if key in HINTS:
        return key
    english = english_of(message)
    return next((k for pattern, k in PATTERNS if pattern in english), None)


def hint_for(message: str, key: str | None = None) -> str:
    """The hint for the failing property ``key`` (from the check), else for the first matching pattern."""
    key = hint_key(message, key)
    if key is not None:
        return gettext(HINTS[key])
    return gettext("The message above names the input case and what differs from the docstring's promise: "
                   "reproduce that case in a cell and compare step by step.")
