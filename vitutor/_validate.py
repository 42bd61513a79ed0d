"""Input validation shared by every public function of vitutor.

Each helper checks one argument, names it in the error, and returns a clean numpy array,
so the algorithms behind the public boundary can trust their inputs.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import logsumexp

#: Tolerance on ``log sum exp`` of a table that must be a normalised distribution.
LOG_NORM_ATOL = 1e-8

#: Default cap on the array elements a call may allocate, counted from its size arguments before
#: anything is allocated (number of draws, of documents, of steps, of grid points, ...).  2**28
#: float64 elements are 2 GiB: above it :func:`check_elements` raises a ValueError that names the
#: argument, where numpy would fail later with a MemoryError (or swap the machine to a halt).
MAX_ELEMENTS = 2**28


def check_seed(seed):
    """Return a ``numpy.random.Generator`` from ``seed`` (None, int, or a Generator)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(
                f"seed must be a non-negative integer, got {seed}"
            )
        return np.random.default_rng(int(seed))
    raise TypeError(
        f"seed must be None, an int or a numpy.random.Generator, got {type(seed).__name__}"
    )


def check_int(value, name, minimum):
    """An integer (not bool) that is at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer, got {type(value).__name__}"
        )
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_elements(total, what, max_elements=MAX_ELEMENTS):
    """Refuse an allocation of ``total`` array elements above ``max_elements``.

    ``what`` names the arguments the size comes from, as the caller wrote them, e.g.
    ``"n_steps = 1000000000000"``; the error message starts with it, so it names the argument.
    """
    max_elements = check_int(max_elements, "max_elements", 1)
    if total > max_elements:
        raise ValueError(
            f"{what} would allocate {float(total):.3e} array elements, more than "
            f"max_elements = {max_elements:.3e} (pass a larger max_elements if memory allows)"
        )
    return int(total)


def check_finite_array(a, name):
    """A real array (any shape) with no NaN or inf, as float64."""
    arr = as_float_array(a, name)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must not contain NaN or inf")
    return arr


def check_covariance(S, M, name="S"):
    """A finite, symmetric, positive-definite ``(M, M)`` matrix, as float64.

    Symmetry is checked to a relative tolerance of ``1e-8`` of the largest entry (a matrix
    symmetrised after an inverse passes); positive definiteness by a Cholesky factorisation.
    """
    arr = check_finite_array(S, name)
    if arr.shape != (M, M):
        raise ValueError(
            f"{name} must be a ({M}, {M}) covariance matrix, got shape {arr.shape}"
        )
    scale = np.max(np.abs(arr)) if arr.size else 0.0
    if np.max(np.abs(arr - arr.T), initial=0.0) > 1e-8 * scale:
        raise ValueError(f"{name} must be symmetric")
    try:
        np.linalg.cholesky(arr)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be positive definite") from None
    return arr


def check_positive(value, name):
    """A finite real number that is strictly positive."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {type(value).__name__}"
        )
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return value


def check_nonnegative(value, name):
    """A finite real number that is >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {type(value).__name__}"
        )
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {value}")
    return value


def check_real(value, name):
    """A finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {type(value).__name__}"
        )
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def as_float_array(a, name):
    """Convert to a float64 array, rejecting non-numeric input (strings, objects, complex) and
    ragged nested lists (rows of different lengths), naming ``name``."""
    try:
        arr = np.asarray(a)
    except ValueError:
        raise ValueError(
            f"{name} must be a rectangular array of numbers, got a ragged nested sequence "
            "(rows of different lengths)"
        ) from None
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer)
        or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(
            f"{name} must be an array of real numbers, got dtype {arr.dtype}"
        )
    return arr.astype(np.float64, copy=False)


def check_data(x, name="x", ndim=1, min_len=1):
    """Observations: a finite real array of the given number of dimensions, not empty."""
    arr = as_float_array(x, name)
    if arr.ndim != ndim:
        raise ValueError(
            f"{name} must be a {ndim}-D array, got shape {arr.shape}"
        )
    if arr.shape[0] < min_len:
        raise ValueError(
            f"{name} must hold at least {min_len} observation(s), got {arr.shape[0]}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must not contain NaN or inf")
    return arr


def check_log_table(log_table, name):
    """A log-probability table (possibly unnormalised): no NaN, no +inf, not all -inf."""
    arr = as_float_array(log_table, name)
    if arr.ndim == 0 or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty table with at least one axis, got shape {arr.shape}"
        )
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} must not contain NaN")
    if np.any(arr == np.inf):
        raise ValueError(f"{name} must not contain +inf")
    if np.all(arr == -np.inf):
        raise ValueError(
            f"{name} is -inf everywhere: it puts no mass anywhere"
        )
    return arr


def check_log_distribution(log_table, name, atol=LOG_NORM_ATOL):
    """A normalised log-probability table: as :func:`check_log_table`, and sum(exp) == 1."""
    arr = check_log_table(log_table, name)
    total = logsumexp(arr)
    if abs(total) > atol:
        raise ValueError(
            f"{name} must be a normalised log-probability table (sum of exp = 1), "
            f"but its log-sum-exp is {total:.3g}"
        )
    return arr


def check_distribution_rows(p, name, shape=None, atol=1e-8):
    """Probability vectors along the last axis: finite, >= 0, rows summing to one."""
    arr = as_float_array(p, name)
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(
            f"{name} must have shape {tuple(shape)}, got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must not contain NaN or inf")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative")
    sums = arr.sum(axis=-1)
    if not np.allclose(sums, 1.0, rtol=0, atol=atol):
        worst = float(np.max(np.abs(sums - 1.0)))
        raise ValueError(
            f"{name} rows must sum to one (largest deviation {worst:.3g})"
        )
    return arr


def check_design(X, name="X", n_cols=None):
    """A design matrix: a finite real 2-D array with at least one row (and ``n_cols`` columns)."""
    arr = check_data(X, name, ndim=2)
    if arr.shape[1] < 1 or (n_cols is not None and arr.shape[1] != n_cols):
        want = "at least one column" if n_cols is None else f"{n_cols} columns"
        raise ValueError(f"{name} must have {want}, got shape {arr.shape}")
    return arr


def check_targets(t, n, name="t"):
    """Real targets, one per row of the design matrix: a finite 1-D array of length ``n``."""
    arr = check_data(t, name)
    if arr.shape[0] != n:
        raise ValueError(
            f"{name} must have one entry per row of the design matrix ({n}), got {arr.shape[0]}"
        )
    return arr


def check_binary_labels(t, n, name="t"):
    """Class labels in {0, 1}, one per row of the design matrix, returned as float64."""
    arr = np.asarray(t)
    if arr.dtype == bool:
        arr = arr.astype(np.float64)
    arr = check_targets(arr, n, name)
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError(
            f"{name} must hold labels in {{0, 1}}, got values {np.unique(arr)[:5]}"
        )
    return arr


def check_bool(value, name):
    """A boolean (``True``/``False`` or a numpy bool): a string such as ``"no"`` is refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{name} must be True or False, got {type(value).__name__} {value!r}"
        )
    return bool(value)


def check_broadcast(shapes):
    """The shape that the named ``shapes`` (a dict ``name -> shape``) broadcast to.

    A mismatch raises a ValueError naming every argument and its shape, where numpy would say
    ``operands could not be broadcast together``.
    """
    try:
        return np.broadcast_shapes(*shapes.values())
    except ValueError:
        parts = [f"{k} of shape {tuple(v)}" for k, v in shapes.items()]
        listed = ", ".join(parts[:-1]) + " and " + parts[-1]
        raise ValueError(
            f"{listed} do not broadcast against each other (numpy broadcasting rules)"
        ) from None


def check_returned(value, callback, what, shape=None, when="", finite=True):
    """What a user's callback returned: a finite real array (of ``shape`` if given), as float64.

    ``callback`` names the callback (``"local_step"``), ``what`` the output checked (``"stats"``),
    ``when`` the call (``" at step 3"``), so that a wrong shape or a NaN is traced to the callback
    and the iteration, e.g. ``"local_step returned NaN or inf in stats at step 3"``.  With
    ``finite=False`` NaN and inf pass (the caller checks them where it knows the iteration).
    """
    try:
        arr = np.asarray(value)
    except ValueError:
        arr = np.asarray(value, dtype=object)
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer)
        or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(
            f"{callback} must return {what} as real numbers, got "
            f"{type(value).__name__}"
            + (
                f" of dtype {arr.dtype}"
                if isinstance(value, np.ndarray)
                else ""
            )
            + when
        )
    arr = arr.astype(np.float64, copy=False)
    if shape is not None and arr.shape != tuple(shape):
        want = (
            "as a single number"
            if tuple(shape) == ()
            else f"of shape {tuple(shape)}"
        )
        raise ValueError(
            f"{callback} must return {what} {want}, got shape {arr.shape}{when}"
        )
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{callback} returned NaN or inf in {what}{when}")
    return arr
