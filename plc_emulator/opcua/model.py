"""Typed information model: equipment ObjectTypes, controllers, transmitters, device health.

The plant's devices (``SEP-V100`` ...) get a type definition from :data:`EQUIPMENT_PATTERNS`, one
small table the block library can replace once it defines equipment kinds. Nothing here changes a
tag's NodeId: tag variables stay under their device, and the new objects reference them.

* ObjectTypes (plant namespace, subtypes of BaseObjectType; asyncua 2.1 ships no DI nodeset, so the
  DI names are used for the identification properties without DI's types):
  ``EquipmentType`` (Manufacturer, Model, SerialNumber, HardwareRevision, SoftwareRevision) and its
  subtypes SeparatorType, TankType, ReactorType, PumpType, HeatExchangerType, HeaterType,
  ControlValveType, PidControllerType, TransmitterType.
* A PID loop whose tags are ``<LOOP>_SP``, ``_MODE``, ``_OUT``, ``_KC``, ``_TI`` (``_PV``,
  ``_VALVE``) gets ``<Device>/<LOOP>`` of PidControllerType; its roles reference the existing tag
  variables with HasComponent.
* A measured tag (an engine signal of kind MEASURED, the field instruments) gets
  ``<Device>/<tag>_TT`` of TransmitterType in the spirit of PA-DIM: HasComponent to the tag's
  AnalogItem (the process value, with EURange and EngineeringUnits) and a ``DeviceHealth`` variable
  (NAMUR NE 107; DataType ``DeviceHealthEnumeration`` defined once in the plant namespace with DI's
  value order) derived from the tag's StatusCode each scan.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Final

import numpy as np
import numpy.typing as npt
from asyncua import Server, ua
from asyncua.common.structures104 import new_enum
from asyncua.server.address_space import AttributeValue

from plc_emulator import __version__
from plc_emulator.engine import status as st
from plc_emulator.engine.catalogue import LEGACY, Catalogue, SignalKind
from plc_emulator.opcua.nodes import TagNode, _Builder
from plc_emulator.signals import lookup
from plc_emulator.tagmap.model import Device, DeviceIdentification, TagMap

__all__ = ["CONTROLLER_ROLES", "EQUIPMENT_PATTERNS", "EQUIPMENT_TYPES", "IDENTIFICATION", "LOOP_PV_SIGNALS",
           "DeviceHealth", "TypedModel", "add_types", "build_model", "equipment_type", "health_of"]

# Device-name pattern -> equipment type; first match wins, no match = BaseObjectType (PLC, ALARMS).
EQUIPMENT_PATTERNS: Final[tuple[tuple[str, str], ...]] = (
    (r"^(SEP|V)-", "SeparatorType"),
    (r"^(TK|TNK|T)-", "TankType"),
    (r"^(RX|R)-", "ReactorType"),
    (r"^(PMP|P)-", "PumpType"),
    (r"^(HX|E)-", "HeatExchangerType"),
    (r"^(HTR|H)-", "HeaterType"),
    (r"^(CV|FV|LV|PV|TV)-", "ControlValveType"),
)
EQUIPMENT_TYPES: Final = ("SeparatorType", "TankType", "ReactorType", "PumpType", "HeatExchangerType",
                          "HeaterType", "ControlValveType", "PidControllerType", "TransmitterType")
CONTROLLER_ROLES: Final = ("SP", "PV", "OUT", "MODE", "KC", "TI", "VALVE")
_REQUIRED_ROLES: Final = ("SP", "OUT", "MODE", "KC", "TI")
IDENTIFICATION: Final = ("Manufacturer", "Model", "SerialNumber", "HardwareRevision", "SoftwareRevision")
_LOOP_TAG: Final = re.compile(r"^([A-Z]{2,4}\d+)_(" + "|".join(CONTROLLER_ROLES) + r")$")
_HAS_COMPONENT: Final = ua.NodeId(ua.ObjectIds.HasComponent)


class DeviceHealth(IntEnum):
    """NAMUR NE 107 states in OPC UA DI's DeviceHealthEnumeration order."""

    NORMAL = 0
    FAILURE = 1
    CHECK_FUNCTION = 2
    OFF_SPEC = 3
    MAINTENANCE_REQUIRED = 4


_HEALTH_BY_CODE: Final = {
    st.BAD_OUT_OF_SERVICE: DeviceHealth.CHECK_FUNCTION,
    st.BAD_WAITING_FOR_INITIAL_DATA: DeviceHealth.CHECK_FUNCTION,
    st.UNCERTAIN_EU_EXCEEDED: DeviceHealth.OFF_SPEC,
    st.UNCERTAIN_SENSOR_NOT_ACCURATE: DeviceHealth.OFF_SPEC,
    st.GOOD_LOCAL_OVERRIDE: DeviceHealth.CHECK_FUNCTION,
}


def health_of(code: int) -> DeviceHealth:
    """StatusCode -> NE 107: Good NORMAL, Bad FAILURE (out of service / no data yet: CHECK_FUNCTION),
    Uncertain MAINTENANCE_REQUIRED (EU exceeded / sensor not accurate: OFF_SPEC)."""
    got = _HEALTH_BY_CODE.get(code & 0xFFFF0000)
    if got is not None:
        return got
    if code & 0x80000000:
        return DeviceHealth.FAILURE
    if code & 0x40000000:
        return DeviceHealth.MAINTENANCE_REQUIRED
    return DeviceHealth.NORMAL


def equipment_type(device: Device) -> str | None:
    for pattern, name in EQUIPMENT_PATTERNS:
        if re.match(pattern, device.name):
            return name
    return None


@dataclass(slots=True)
class TypedModel:
    """Type NodeIds by name and the health variables to update each scan."""

    types: dict[str, ua.NodeId]
    health_cols: npt.NDArray[np.intp]
    health_attrs: list[AttributeValue]
    last: npt.NDArray[np.int8]
    last_status: npt.NDArray[np.uint32]

    def update(self, status: npt.NDArray[np.uint32], ts: datetime,
               notify: Callable[[AttributeValue, ua.DataValue], None]) -> int:
        """Write the DeviceHealth of transmitters whose health changed; returns how many.

        Only transmitters whose StatusCode changed since the last scan are looked at."""
        if not self.health_attrs:
            return 0
        codes = status[self.health_cols]
        moved = np.flatnonzero(codes != self.last_status)
        self.last_status = codes
        now = datetime.now(UTC)
        n = 0
        for i, code in zip(moved.tolist(), codes[moved].tolist(), strict=True):
            health = health_of(code)
            if health == self.last[i]:
                continue
            self.last[i] = health
            attr = self.health_attrs[i]
            dv = ua.DataValue(ua.Variant(int(health), ua.VariantType.Int32), SourceTimestamp=ts,
                              ServerTimestamp=now)
            attr.value = dv
            if attr.datachange_callbacks:
                notify(attr, dv)
            n += 1
        return n


async def add_types(server: Server, ns: int) -> dict[str, ua.NodeId]:
    """Create the ObjectTypes with their instance declarations (a few dozen nodes, asyncua's API)."""
    base = server.get_node(ua.NodeId(ua.ObjectIds.BaseObjectType))
    types: dict[str, ua.NodeId] = {}
    equipment = await base.add_object_type(ua.NodeId("EquipmentType", ns), ua.QualifiedName("EquipmentType", ns))
    types["EquipmentType"] = equipment.nodeid
    for name in IDENTIFICATION:
        prop = await equipment.add_property(ua.NodeId(f"EquipmentType.{name}", ns), ua.QualifiedName(name, ns),
                                            ua.Variant("", ua.VariantType.String))
        await prop.set_modelling_rule(False)  # Optional: transmitters carry SerialNumber only
    for tname in EQUIPMENT_TYPES:
        t = await equipment.add_object_type(ua.NodeId(tname, ns), ua.QualifiedName(tname, ns))
        types[tname] = t.nodeid
        if tname == "PidControllerType":
            for role in CONTROLLER_ROLES:
                v = await t.add_variable(ua.NodeId(f"{tname}.{role}", ns), ua.QualifiedName(role, ns), 0.0,
                                         varianttype=ua.VariantType.Double)
                await v.set_modelling_rule(role in _REQUIRED_ROLES)
        elif tname == "TransmitterType":
            pv = await t.add_variable(ua.NodeId(f"{tname}.PV", ns), ua.QualifiedName("PV", ns), 0.0,
                                      varianttype=ua.VariantType.Double)
            await pv.set_modelling_rule(True)
            h = await t.add_variable(ua.NodeId(f"{tname}.DeviceHealth", ns), ua.QualifiedName("DeviceHealth", ns),
                                     0, varianttype=ua.VariantType.Int32)
            await h.set_modelling_rule(True)
    health = await new_enum(server, ua.NodeId("DeviceHealthEnumeration", ns), ua.QualifiedName(
        "DeviceHealthEnumeration", ns), [h.name for h in DeviceHealth])
    names = [ua.LocalizedText(h.name) for h in DeviceHealth]
    await health.add_property(ua.NodeId("DeviceHealthEnumeration.EnumStrings", ns), ua.QualifiedName("EnumStrings", 0),
                              ua.Variant(names, ua.VariantType.LocalizedText))
    types["DeviceHealthEnumeration"] = health.nodeid
    return types


def _identify(b: _Builder, nodeid: ua.NodeId, ns: int, model: str, serial: str, *, ts: datetime,
              names: Sequence[str] = IDENTIFICATION,
              given: DeviceIdentification = DeviceIdentification()) -> None:  # noqa: B008 (frozen)
    """The five DI identification properties: the tag map's ``identification`` where given, else
    Manufacturer plc-emulator, Model, SerialNumber, HardwareRevision 1.0, SoftwareRevision = version."""
    values = {"Manufacturer": given.manufacturer or "plc-emulator", "Model": given.model or model,
              "SerialNumber": given.serial_number or serial,
              "HardwareRevision": given.hardware_revision or "1.0",
              "SoftwareRevision": given.software_revision or __version__}
    for name in names:
        b.var(nodeid=ua.NodeId(f"{nodeid.Identifier}.{name}", ns), parent=nodeid,
              bname=ua.QualifiedName(name, ns), dname=name, value=ua.Variant(values[name], ua.VariantType.String),
              datatype=ua.NodeId(ua.ObjectIds.String), typedef=ua.NodeId(ua.ObjectIds.PropertyType),
              reftype=ua.NodeId(ua.ObjectIds.HasProperty), source_time=ts)


def _obj(b: _Builder, nodeid: ua.NodeId, parent: ua.NodeId, name: str, *, ns: int, typedef: ua.NodeId,
         description: str) -> None:
    b.add(nodeid=nodeid, parent=parent, reftype=_HAS_COMPONENT, cls=ua.NodeClass.Object,
          bname=ua.QualifiedName(name, ns), dname=name, typedef=typedef, description=description,
          extra={ua.AttributeIds.EventNotifier: b.const(0, ua.VariantType.Byte)})


def build_model(server: Server, tagmap: TagMap, ns: int, *, types: dict[str, ua.NodeId],
                tags: Sequence[TagNode], status: npt.NDArray[np.uint32], source_time: datetime) -> TypedModel:
    """Identification on typed devices, controller and transmitter objects, in bulk (see nodes.py).

    ``status`` and ``source_time`` are the snapshot the tags were built from (static values are
    stamped with its simulated time, like the tags)."""
    ts = source_time
    b = _Builder(server.iserver.aspace)
    by_key = {tn.tag.key: tn for tn in tags}
    cols: list[int] = []
    attrs: list[AttributeValue] = []
    for device in tagmap.devices:
        dev_id = ua.NodeId(f"{tagmap.plant}.{device.name}", ns)
        tname = equipment_type(device)
        if tname is not None:
            _identify(b, dev_id, ns, tname.removesuffix("Type"), device.name, ts=ts,
                      given=device.identification)
        loops: dict[str, dict[str, TagNode]] = {}
        for tag in device.tags:
            m = _LOOP_TAG.match(tag.name)
            if m:
                loops.setdefault(m.group(1), {})[m.group(2)] = by_key[tag.key]
        for loop, roles in loops.items():
            if not all(r in roles for r in _REQUIRED_ROLES):
                continue
            if "PV" not in roles:  # the loop's measured signal, when the map has it on this device
                pv = next((by_key[t.key] for t in device.tags if _loop_pv(loop, t.signal, tagmap.catalogue)), None)
                if pv is not None:
                    roles["PV"] = pv
            cid = ua.NodeId(f"{dev_id.Identifier}.{loop}", ns)
            _obj(b, cid, dev_id, loop, ns=ns, typedef=types["PidControllerType"], description=f"PID controller {loop}")
            _identify(b, cid, ns, "PidController", loop, ts=ts)
            for role in CONTROLLER_ROLES:
                if role in roles:
                    b.ref(cid, roles[role].nodeid, _HAS_COMPONENT)
        for tag in device.tags:
            spec = lookup(tag.signal, tagmap.catalogue)
            if spec is None or spec.kind is not SignalKind.MEASURED:
                continue
            tn = by_key[tag.key]
            tid = ua.NodeId(f"{dev_id.Identifier}.{tag.name}_TT", ns)
            _obj(b, tid, dev_id, f"{tag.name}_TT", ns=ns, typedef=types["TransmitterType"],
                 description=f"transmitter of {tag.key}: {tag.description}")
            # SerialNumber only: the other four are the same for every transmitter, and 4 x 10,000
            # property nodes cost ~3 s of build time on a 10,000-instrument map (docs/opcua.md)
            _identify(b, tid, ns, "Transmitter", f"{device.name}.{tag.name}", ts=ts, names=("SerialNumber",))
            b.ref(tid, tn.nodeid, _HAS_COMPONENT)
            code = int(status[tn.index])
            node = b.var(nodeid=ua.NodeId(f"{tid.Identifier}.DeviceHealth", ns), parent=tid,
                         bname=ua.QualifiedName("DeviceHealth", ns), dname="DeviceHealth",
                         value=ua.Variant(int(health_of(code)), ua.VariantType.Int32),
                         datatype=types["DeviceHealthEnumeration"],
                         typedef=ua.NodeId(ua.ObjectIds.BaseDataVariableType),
                         description="NAMUR NE 107 device health from the process value's StatusCode",
                         source_time=ts)
            cols.append(tn.index)
            attrs.append(node.attributes[ua.AttributeIds.Value])
    col_arr = np.asarray(cols, dtype=np.intp)
    last = np.asarray([health_of(int(c)) for c in status[col_arr].tolist()], dtype=np.int8)
    return TypedModel(types=types, health_cols=col_arr, health_attrs=attrs, last=last,
                      last_status=status[col_arr].copy())


# Loop id -> the measured signal it controls, for loops whose PV is not a tag of its own (``<LOOP>_PV``):
# the plant's catalogue carries it (LoopSpec.pv); these are the built-in train's
LOOP_PV_SIGNALS: Final = {lp.id: lp.pv for lp in LEGACY.loops if lp.pv is not None}


def _loop_pv(loop: str, signal: str, catalogue: Catalogue) -> bool:
    return any(lp.id == loop and lp.pv == signal for lp in catalogue.loops)
