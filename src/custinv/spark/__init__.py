"""Apache Spark as the order-level engine (``--engine spark``); needs the ``spark`` extra.

Nothing here imports pyspark at module import time: custinv without the extra must import
cleanly, and ``--engine spark`` without it is a clear error naming the extra.
"""
