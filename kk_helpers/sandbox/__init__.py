"""The sandbox: an embedded Kubernetes API server with its own controllers.

This package imports nothing from the notebook side of ``kk_helpers``.
"""
