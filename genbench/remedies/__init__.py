"""Remedies against mode collapse and non-convergence: suite settings (``remedies:``) that compose
with any GAN loss, penalty and optimizer, each a module here with the paper it comes from.

``base`` defines what a remedy may change and how it is built; ``params`` the torch-free parameter
models the suite is validated against. ``ema`` (Yazici et al. 2019), ``unrolled`` (Metz et al.
2017), ``spectral_norm`` (Miyato et al. 2018), ``instance_noise`` (Sønderby et al. 2017) and
``diffaugment`` (Zhao et al. 2020, its transformations in ``diffaugment_ops``).
"""
