"""custinv — customer stocktakes (客户盘点) from CRM and shop exports."""

import os as _os

# The CLV likelihoods are long vector dot products. OpenBLAS runs those on its own thread
# pool, whose spinning threads fight Polars' pool for the cores: on 2 cores a 0.7 s fit took
# 5-6 s. custinv's parallelism is Polars'; BLAS stays single-threaded unless the user says
# otherwise (these only take effect when set before numpy is first imported).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")

__version__ = "0.1.0"
