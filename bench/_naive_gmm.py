"""Chapter 4's CAVI for the mixture written the straightforward way, as a same-model baseline.

Whole (n, K) arrays, scipy's ``softmax`` for eq. (gmm-phi), eqs. (gmm-m) and (gmm-s2) for
q(mu), and the ELBO term by term as in eq. (gmm-elbo-each).  This is what ``vitutor.gmm.cavi``
computes, without its blocking: the bench runs both from the same responsibilities, asserts they
agree, and times them side by side, so that a reader sees what the blocking buys.  It lives in
``bench/`` and not in the package: it is a yardstick, not an algorithm to reuse.
"""

import numpy as np
from scipy.special import softmax, xlogy


def elbo(x, phi, m, s2, prior_var):
    """Eq. (gmm-elbo-each), every constant kept."""
    n, K = phi.shape
    e_log_p_mu = np.sum(
        -0.5 * np.log(2 * np.pi * prior_var) - 0.5 * (s2 + m**2) / prior_var
    )
    e_log_p_c = -n * np.log(K)
    e_log_lik = np.sum(
        phi
        * (
            -0.5 * np.log(2 * np.pi)
            - 0.5 * ((x[:, None] - m[None, :]) ** 2 + s2[None, :])
        )
    )
    entropy_c = -np.sum(xlogy(phi, phi))
    entropy_mu = np.sum(0.5 * np.log(2 * np.pi * np.e * s2))
    return float(e_log_p_mu + e_log_p_c + e_log_lik + entropy_c + entropy_mu)


def cavi(x, prior_var, init_phi, n_iter):
    """``n_iter`` iterations of (gmm-m, gmm-s2) then (gmm-phi) from ``init_phi``.

    Returns ``phi, m, s2, trace``.
    """
    phi = init_phi
    trace = []
    for _ in range(n_iter):
        precision = 1.0 / prior_var + phi.sum(axis=0)
        m, s2 = (x @ phi) / precision, 1.0 / precision
        phi = softmax(np.outer(x, m) - 0.5 * (s2 + m**2), axis=1)
        trace.append(elbo(x, phi, m, s2, prior_var))
    return phi, m, s2, np.asarray(trace)
