"""naslid: few-shot NAS that splits a weight-sharing supernet by local intrinsic dimension (NAS-LID)."""

__version__ = "0.1.0"
