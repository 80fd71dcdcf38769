"""Tests check mathematics in float64; float32 checks pass an explicit dtype."""

import jax

jax.config.update("jax_enable_x64", True)
