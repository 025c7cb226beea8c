"""Upstream (MQTT) options of ``plc-emulator run`` and the sinks built from them.

Parsed once by the CLI into :class:`UpstreamOptions`; :class:`~plc_emulator.runtime.recorder.
HistorianService` starts one forwarder per sink. Both sinks can run at once, each with its own
durable cursor: the JSON sink (``--mqtt-url``, QoS 1, ``plc/<plant>/<device>``) and the Sparkplug B
edge node (``--sparkplug-url``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from historian import MqttEndpoint, Sink
    from plc_emulator.tagmap.model import TagMap

__all__ = ["UpstreamOptions", "build_sinks"]


@dataclass(frozen=True, slots=True, kw_only=True)
class UpstreamOptions:
    json: MqttEndpoint | None = None  # --mqtt-url: the JSON sink
    max_backlog_age: float = 300.0  # s; /health fails while the oldest unforwarded sample is older

    @property
    def enabled(self) -> bool:
        return self.json is not None


def build_sinks(options: UpstreamOptions, tagmap: TagMap, plc: Any) -> list[Sink]:
    """The sinks to forward to, in a stable order (their names are the cursor keys)."""
    from historian import MqttSink

    sinks: list[Sink] = []
    if options.json is not None:
        sinks.append(MqttSink(options.json, plant=tagmap.plant))
    return sinks
