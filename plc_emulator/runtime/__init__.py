"""The imperative shell: scan thread and pacing, command queue and journal, HTTP health/metrics.

Only this package (and ``historian/``) touches clocks, threads and files. ``app`` (the task tree of
``plc-emulator run``) and ``http`` are imported on demand so the runtime alone stays light.
"""

from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.journal import Journal, JournalError, JournalHeader, JournalWriter, read_journal
from plc_emulator.runtime.plc import HealthStatus, PlcRuntime, RuntimeStopped, SnapshotCallback

__all__ = [
    "HealthStatus", "Journal", "JournalError", "JournalHeader", "JournalWriter", "PlcRuntime",
    "RuntimeConfig", "RuntimeStopped", "SnapshotCallback", "read_journal",
]
