# Benchmark data: each old use keeps its # old-api marker on its own line, so no formatting.
# fmt: off
"""Custom primitives and array helpers written against JAX 0.4.35 (benchmark input: kb_recall, target jax==0.5.3).

Every line that uses an API changed by 0.5.3 ends with ``# old-api: <change>``.
"""

import jax
import jax.numpy as jnp
from jax import core
from jax.extend import ffi
from jax.interpreters import xla


def flatten_images(images):
    return jnp.reshape(images, newshape=(images.shape[0], -1))  # old-api: jax.numpy.reshape(newshape)


def rounded(x):
    return jnp.round_(x, 3)  # old-api: jax.numpy.round_


def legendre(m, n, z):
    return jax.scipy.special.lpmn(m, n, z)  # old-api: jax.scipy.special.lpmn


def reset():
    jax.clear_backends()  # old-api: jax.clear_backends


my_prim = core.Primitive("my_prim")  # old-api: jax.core.Primitive


def describe(closed: core.ClosedJaxpr) -> str:  # old-api: jax.core.ClosedJaxpr
    inner: core.Jaxpr = closed.jaxpr  # old-api: jax.core.Jaxpr
    return str(inner)


def is_concrete(x) -> bool:
    try:
        bool(x)
    except core.ConcretizationTypeError:  # old-api: jax.core.ConcretizationTypeError
        return False
    return True


def abstract_eval(aval):
    return core.raise_to_shaped(aval)  # old-api: jax.core.raise_to_shaped


def aval_of(x):
    return xla.abstractify(x)  # old-api: jax.interpreters.xla.abstractify


def at_least_zero(d):
    return core.non_negative_dim(d)  # old-api: jax.core.non_negative_dim


def backend_name():
    return xla.xb.get_backend().platform  # old-api: jax.interpreters.xla.xb


def call_native(x):
    return ffi.ffi_call("my_target", jax.ShapeDtypeStruct(x.shape, x.dtype))(x)  # old-api: jax.extend.ffi.ffi_call
