"""kk: Kubernetes labs in JupyterLab."""

__version__ = "0.1.0"
