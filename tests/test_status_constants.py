"""condis.status and condis.constants against the fact table, shared/spec/constants.md.

The parse-based tests read the table itself, so a value mistyped in either module (or a row added
to the table and forgotten in the code) fails here. They are skipped when the spec directory is
not checked out beside the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from condis import constants, status
from condis.constants import (
    AF_NAMES,
    BUGCHECK_NAMES,
    CO_ADDRESS_FAMILY_PROXY,
    CO_ADDRESS_FAMILY_TAPI,
    CO_ADDRESS_FAMILY_TAPI_PROXY,
    KIRQL,
    NDIS_DV_RULE_CODES,
    NDIS_HALT_ACTION,
    NDIS_MEDIUM,
    af_name,
)
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_BUFFER_OVERFLOW,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_MEDIA_CONNECT,
    NDIS_STATUS_MEDIA_SPECIFIC_INDICATION,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    NDIS_STATUS_WW_INDICATION,
    NT_ERROR,
    NT_INFORMATION,
    NT_SUCCESS,
    NT_WARNING,
    STATUS_NAMES,
    UNRESOLVED_STATUS_NAMES,
    status_from_name,
    status_name,
)

CONSTANTS_MD = Path(__file__).resolve().parents[2] / "shared" / "spec" / "constants.md"

# A table row whose first cell is an upper-case identifier and whose second cell is a value.
_ROW = re.compile(r"^\| (?P<name>[A-Z][A-Z0-9_]*) \| (?P<value>0x[0-9A-Fa-f]+|not resolved) \|")
# A bug check Parameter 1 row: the value comes first, then the name.
_PARAM1_ROW = re.compile(r"^\| (?P<value>0x[0-9A-Fa-f]+) \| (?P<name>NDIS_BUGCHECK_\w+) \|")


def _section(number: int) -> str:
    """The text of section *number* ("## n. ...") of constants.md; skips if the file is absent."""
    if not CONSTANTS_MD.is_file():
        pytest.skip(f"{CONSTANTS_MD} is not present")
    text = CONSTANTS_MD.read_text(encoding="utf-8")
    match = re.search(rf"^## {number}\. .*?(?=^## \d+\. |\Z)", text, re.M | re.S)
    assert match is not None, f"constants.md has no section {number}"
    return match.group(0)


def _rows(number: int, prefix: str = "") -> list[tuple[str, str]]:
    """(name, value text) of every table row of section *number* whose name starts *prefix*."""
    rows = []
    for line in _section(number).splitlines():
        match = _ROW.match(line)
        if match and match["name"].startswith(prefix):
            rows.append((match["name"], match["value"]))
    return rows


# ---------------------------------------------------------------------------------------------
# NDIS_STATUS values against section 2
# ---------------------------------------------------------------------------------------------


def test_every_resolved_status_row_matches_the_module() -> None:
    rows = _rows(2, "NDIS_STATUS_")
    assert len(rows) > 150, "the section 2 table was not parsed"
    resolved = [(name, value) for name, value in rows if value != "not resolved"]
    for name, value in resolved:
        constant = getattr(status, name, None)
        assert isinstance(constant, NDIS_STATUS), f"{name} is missing or not an NDIS_STATUS"
        assert constant == int(value, 16), f"{name} is {constant:#010x}, table says {value}"
        assert name in status.__all__


def test_unresolved_rows_are_not_defined_but_named() -> None:
    unresolved = [name for name, value in _rows(2, "NDIS_STATUS_") if value == "not resolved"]
    assert tuple(unresolved) == UNRESOLVED_STATUS_NAMES
    for name in unresolved:
        assert not hasattr(status, name)
        with pytest.raises(ValueError, match=rf"^{name} has no resolved value"):
            status_from_name(name)


def test_module_defines_no_status_the_table_lacks() -> None:
    table = {name for name, _ in _rows(2, "NDIS_STATUS_")}
    defined = {
        name
        for name, value in vars(status).items()
        if name.startswith("NDIS_STATUS_") and isinstance(value, NDIS_STATUS)
    }
    assert defined <= table, f"not in constants.md: {sorted(defined - table)}"


def test_canonical_name_is_the_first_in_header_order() -> None:
    first: dict[int, str] = {}
    for name, value in _rows(2, "NDIS_STATUS_"):
        if value != "not resolved":
            first.setdefault(int(value, 16), name)
    assert dict(STATUS_NAMES) == first


# ---------------------------------------------------------------------------------------------
# NDIS_STATUS behaviour
# ---------------------------------------------------------------------------------------------


def test_known_status_prints_as_its_name() -> None:
    assert repr(NDIS_STATUS_PENDING) == "NDIS_STATUS_PENDING"
    assert str(NDIS_STATUS_PENDING) == "NDIS_STATUS_PENDING"
    assert f"{NDIS_STATUS_PENDING}" == "NDIS_STATUS_PENDING"
    assert f"{NDIS_STATUS_PENDING:#x}" == "0x103"
    assert repr(NDIS_STATUS(0xC0000001)) == "NDIS_STATUS_FAILURE"
    assert NDIS_STATUS_PENDING.name == "NDIS_STATUS_PENDING"


def test_unknown_status_prints_as_eight_hex_digits() -> None:
    unknown = NDIS_STATUS(0xC0FFEE00)
    assert repr(unknown) == "0xC0FFEE00"
    assert str(unknown) == "0xC0FFEE00"
    assert f"{unknown}" == "0xC0FFEE00"
    assert repr(NDIS_STATUS(5)) == "0x00000005"
    assert unknown.name is None
    assert status_name(0xC0FFEE00) == "0xC0FFEE00"
    assert status_name(0x103) == "NDIS_STATUS_PENDING"


def test_shared_value_prints_the_first_header_name() -> None:
    assert NDIS_STATUS_WW_INDICATION == NDIS_STATUS_MEDIA_SPECIFIC_INDICATION
    assert repr(NDIS_STATUS_WW_INDICATION) == "NDIS_STATUS_MEDIA_SPECIFIC_INDICATION"
    assert status_from_name("NDIS_STATUS_WW_INDICATION") == 0x40010012


def test_status_keeps_int_equality_and_hash() -> None:
    assert NDIS_STATUS_PENDING == 0x103
    assert hash(NDIS_STATUS_PENDING) == hash(0x103)
    assert {0x103: "x"}[NDIS_STATUS_PENDING] == "x"
    assert isinstance(NDIS_STATUS_PENDING, int)


def test_negative_values_are_normalised_to_unsigned() -> None:
    # C code sees NDIS_STATUS_FAILURE (0xC0000001) as the signed int -1073741823.
    normalised = NDIS_STATUS(-1073741823)
    assert normalised == 0xC0000001
    assert normalised == NDIS_STATUS_FAILURE
    assert repr(normalised) == "NDIS_STATUS_FAILURE"
    assert NDIS_STATUS(-1) == 0xFFFFFFFF
    assert NDIS_STATUS(-0x80000000) == 0x80000000


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1 << 32, "0x100000000"), (-(1 << 31) - 1, "-0x80000001"), (1 << 40, "0x10000000000")],
)
def test_values_outside_32_bits_are_rejected(value: int, shown: str) -> None:
    with pytest.raises(
        ValueError, match=rf"^NDIS_STATUS value {shown} is outside the 32-bit range$"
    ):
        NDIS_STATUS(value)


def test_non_integers_are_rejected() -> None:
    with pytest.raises(TypeError):
        NDIS_STATUS(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        NDIS_STATUS("0x103")  # type: ignore[arg-type]


def test_status_from_name() -> None:
    assert status_from_name("NDIS_STATUS_PENDING") is NDIS_STATUS_PENDING
    with pytest.raises(
        ValueError, match=r"^unknown NDIS_STATUS name: 'NDIS_STATUS_NO_SUCH_PARTY'$"
    ):
        status_from_name("NDIS_STATUS_NO_SUCH_PARTY")


def test_severity_classification() -> None:
    assert NT_SUCCESS(NDIS_STATUS_PENDING) is True
    assert NT_SUCCESS(NDIS_STATUS_SUCCESS) is True
    assert NT_SUCCESS(NDIS_STATUS_FAILURE) is False
    assert NT_SUCCESS(-1073741823) is False  # signed form of NDIS_STATUS_FAILURE

    assert NT_INFORMATION(NDIS_STATUS_MEDIA_CONNECT)
    assert NT_SUCCESS(NDIS_STATUS_MEDIA_CONNECT)
    assert not NT_INFORMATION(NDIS_STATUS_PENDING)

    assert NT_WARNING(NDIS_STATUS_BUFFER_OVERFLOW)
    assert not NT_SUCCESS(NDIS_STATUS_BUFFER_OVERFLOW)
    assert not NT_ERROR(NDIS_STATUS_BUFFER_OVERFLOW)

    assert NT_ERROR(NDIS_STATUS_FAILURE)
    assert not NT_WARNING(NDIS_STATUS_FAILURE)
    assert not NT_ERROR(NDIS_STATUS_PENDING)


# ---------------------------------------------------------------------------------------------
# constants.py against sections 1, 3, 4, 6 and 8
# ---------------------------------------------------------------------------------------------


def test_every_address_family_row_matches_the_module() -> None:
    rows = _rows(3, "CO_ADDRESS_FAMILY_")
    assert len(rows) == 10, "the section 3 table was not parsed"
    for name, value in rows:
        assert getattr(constants, name) == int(value, 16), name
        if name == "CO_ADDRESS_FAMILY_PROXY":
            assert int(value, 16) not in AF_NAMES
        else:
            assert AF_NAMES[int(value, 16)] == name
            assert af_name(int(value, 16)) == name


@pytest.mark.parametrize("section", [1, 4, 6, 8])
def test_named_values_match_the_table(section: int) -> None:
    rows = [(name, value) for name, value in _rows(section) if hasattr(constants, name)]
    assert rows, f"no row of section {section} names a module constant"
    for name, value in rows:
        assert getattr(constants, name) == int(value, 16), name


def test_section_4_and_6_rows_are_all_defined() -> None:
    for section in (4, 6):
        for name, _ in _rows(section):
            assert name in constants.__all__, f"section {section} row {name} is not defined"


def test_bugcode_ndis_driver_parameter_1_names() -> None:
    section = _section(8)
    table = section.split("### BUGCODE_NDIS_DRIVER (0x7C)")[1].split("###")[0]
    rows = [m.groups() for m in map(_PARAM1_ROW.match, table.splitlines()) if m]
    assert len(rows) > 30
    for value, name in rows:
        assert getattr(constants, name) == int(value, 16), name


def test_bug_check_codes_and_rule_codes() -> None:
    assert BUGCHECK_NAMES == {
        0x4F: "NDIS_INTERNAL_ERROR",
        0x7C: "BUGCODE_NDIS_DRIVER",
        0xC4: "DRIVER_VERIFIER_DETECTED_VIOLATION",
        0x15E: "BUGCODE_NDIS_DRIVER_LIVE_DUMP",
    }
    assert NDIS_DV_RULE_CODES["NdisOidComplete"] == 0x00091001
    assert NDIS_DV_RULE_CODES["NdisOidDoubleComplete"] == 0x00091002
    assert all(0x00091001 <= code <= 0x0009400C for code in NDIS_DV_RULE_CODES.values())
    section = _section(8)
    for code, rule in re.findall(r"^\| (0x0009[0-9A-F]{4}) \| (Ndis\w+) \|", section, re.M):
        assert NDIS_DV_RULE_CODES[rule] == int(code, 16), rule


def test_af_name_with_proxy_flag_and_unknown_values() -> None:
    proxied = CO_ADDRESS_FAMILY_TAPI | CO_ADDRESS_FAMILY_PROXY
    assert af_name(proxied) == "CO_ADDRESS_FAMILY_TAPI|CO_ADDRESS_FAMILY_PROXY"
    assert af_name(CO_ADDRESS_FAMILY_TAPI_PROXY) == "CO_ADDRESS_FAMILY_TAPI_PROXY"
    assert af_name(0x1234) == "0x00001234"
    assert af_name(CO_ADDRESS_FAMILY_PROXY) == "0x80000000"
    with pytest.raises(ValueError, match=r"^NDIS_AF value -0x1 is outside the ULONG range$"):
        af_name(-1)


def test_kirql_prints_its_bare_name() -> None:
    assert str(KIRQL.DISPATCH_LEVEL) == "DISPATCH_LEVEL"
    assert f"{KIRQL.PASSIVE_LEVEL}" == "PASSIVE_LEVEL"
    assert int(KIRQL.DISPATCH_LEVEL) == 2
    assert KIRQL.PASSIVE_LEVEL < KIRQL.APC_LEVEL < KIRQL.DISPATCH_LEVEL < KIRQL.HIGH_LEVEL
    assert constants.DISPATCH_LEVEL is KIRQL.DISPATCH_LEVEL


def test_ndis_medium_values() -> None:
    # Declaration order of the WDK ntddndis.h enumeration (see the class docstring).
    expected = [
        "NdisMedium802_3",
        "NdisMedium802_5",
        "NdisMediumFddi",
        "NdisMediumWan",
        "NdisMediumLocalTalk",
        "NdisMediumDix",
        "NdisMediumArcnetRaw",
        "NdisMediumArcnet878_2",
        "NdisMediumAtm",
        "NdisMediumWirelessWan",
        "NdisMediumIrda",
        "NdisMediumBpc",
        "NdisMediumCoWan",
        "NdisMedium1394",
        "NdisMediumInfiniBand",
        "NdisMediumTunnel",
        "NdisMediumNative802_11",
        "NdisMediumLoopback",
        "NdisMediumWiMAX",
        "NdisMediumIP",
    ]
    assert [(m.name, m.value) for m in NDIS_MEDIUM] == [(n, i) for i, n in enumerate(expected)]
    assert str(NDIS_MEDIUM.NdisMediumCoWan) == "NdisMediumCoWan"


def test_ndis_halt_action_values() -> None:
    expected = [
        "NdisHaltDeviceDisabled",
        "NdisHaltDeviceInstanceDeInitialized",
        "NdisHaltDevicePoweredDown",
        "NdisHaltDeviceSurpriseRemoved",
        "NdisHaltDeviceFailed",
        "NdisHaltDeviceInitializationFailed",
        "NdisHaltDeviceStopped",
    ]
    assert [(m.name, m.value) for m in NDIS_HALT_ACTION] == [(n, i) for i, n in enumerate(expected)]
