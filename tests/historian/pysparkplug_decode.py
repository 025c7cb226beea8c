"""Decode captured Sparkplug messages with pysparkplug (an independent implementation).

Runs in its own virtual environment (pysparkplug 0.6.1 needs paho-mqtt < 2, the project uses 2.x):

    .venv-pysparkplug/bin/python tests/historian/pysparkplug_decode.py < messages.jsonl

Input lines: {"kind": "NBIRTH|DBIRTH|DDATA|DDEATH|NDEATH", "device": str|null, "hex": payload}.
Output: one JSON line per message with seq and (name, datatype, value, is_historical, is_null) per
metric; DDATA names are resolved through the device's last DBIRTH, as a host application would.
"""

import json
import sys

import pysparkplug as sp

DECODERS = {"NBIRTH": sp.NBirth, "DBIRTH": sp.DBirth, "DDATA": sp.DData, "NDEATH": sp.NDeath,
            "DDEATH": sp.DDeath}


def main() -> None:
    births: dict[str, object] = {}
    for line in sys.stdin:
        msg = json.loads(line)
        raw = bytes.fromhex(msg["hex"])
        kind, device = msg["kind"], msg["device"]
        cls = DECODERS[kind]
        payload = cls.decode(raw, birth=births[device]) if kind == "DDATA" else cls.decode(raw)
        if kind == "DBIRTH":
            births[device] = payload
        metrics = [
            {"name": m.name, "datatype": m.datatype.name, "value": m.value, "is_historical": m.is_historical,
             "is_null": m.is_null}
            for m in getattr(payload, "metrics", ())
        ]
        print(json.dumps({"kind": kind, "device": device, "seq": getattr(payload, "seq", None),
                          "metrics": metrics}))


if __name__ == "__main__":
    main()
