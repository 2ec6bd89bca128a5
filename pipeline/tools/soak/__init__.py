"""``cxstream soak``: a bounded run at half the measured maximum rate; memory and state stay flat.

One worker (all agents) on its own broker (127.0.0.1:19292, state in ``.cxstream/soak``):

1. the maximum rate: 3,000 events produced at once (closed loop), events/s until the last
   enriched record, as ``cxstream bench`` measures ``full_eps`` (skipped with ``--rate``);
2. ``--minutes`` of open-loop traffic at 50 % of it, from a fixed population of synthetic
   customers with new message ids, texts and event times in every chunk (a steady input);
3. every ``--sample-s``: the worker's RSS (``/proc/<pid>/status`` VmRSS), its state table sizes
   (``cxstream_table_keys``), consumer lag (``cxstream_consumer_lag_messages``) and RocksDB
   memory (``cxstream_store_memory_bytes``, reported, not judged) from its ``/metrics``, and
   the outputs so far.

The first half of the run is warm-up (caches, RocksDB memtables, tables filling up to their
bounds); each series is judged by its least-squares slope over the second half. **Flat** means:

* worker RSS grows by at most ``RSS_SLOPE_MAX`` (1.0 MiB/min);
* each state table grows over the second half by at most ``TABLE_GROWTH_MAX`` (5 %) of its size
  there (growth under ``TABLE_GROWTH_FLOOR`` keys is always flat: sampling noise);
* consumer lag grows over the second half by less than ``LAG_GROWTH_MAX_S`` (10 s) of traffic;
* after the traffic stops, every event is accounted for (interaction, duplicate or dead letter).

Every table is bounded in steady state only if the input is: the population is small enough
(``EVENTS_PER_CUSTOMER`` events each over the run) that the customer-keyed tables (identity,
customers, conversations: at most 50 per customer) fill up during the warm-up half, and the
dedupe windows are shortened (ids 120 s, texts 2 x 60 s, swept every 10 s) so that expiry
happens many times within the run. The report goes to
``<state dir>/bench/results/soak-<UTC time>.json``.

Where things are: ``scenario`` (the settings, the traffic and its population, the plan's
checks), ``measurement`` (what the worker and the output topics show), ``verdict`` (the slopes
and what counts as flat), ``run`` (the phases on a fresh local broker), ``report`` (saving and
printing the verdict).
"""

from pipeline.tools.soak.report import render
from pipeline.tools.soak.run import run_soak
from pipeline.tools.soak.scenario import SoakError

__all__ = ["SoakError", "render", "run_soak"]
