"""xlt: a cross-lingual transfer lab for multilingual post-training studies."""

import time as _time
import uuid as _uuid

__version__ = "0.1.0"
# The job process: when it started (the first import of xlt, before torch and the stage's libraries) and an id
# its provenance sidecars share, so a job's cost counts once however many artifacts it writes.
PROCESS_STARTED = _time.time()
PROCESS_ID = _uuid.uuid4().hex
