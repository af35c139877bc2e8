"""The DDI catalogue: generated data matches spec/INDEX.md, and the typed API reads it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from condis.catalogue import (
    CATALOGUE,
    DdiKind,
    IrqlRequirement,
    UnknownDdiError,
    entries,
    entry,
)
from condis.catalogue_data import ROWS
from condis.constants import KIRQL

REPO_ROOT = Path(__file__).resolve().parents[1]
SPEC_INDEX = REPO_ROOT.parent / "shared" / "spec" / "INDEX.md"
GENERATOR = REPO_ROOT / "tools" / "make_catalogue.py"
DATA_FILE = REPO_ROOT / "src" / "condis" / "catalogue_data.py"
LEVELS = (KIRQL.PASSIVE_LEVEL, KIRQL.APC_LEVEL, KIRQL.DISPATCH_LEVEL, KIRQL.HIGH_LEVEL)


class TestGeneratedData:
    @pytest.mark.skipif(not SPEC_INDEX.exists(), reason=f"{SPEC_INDEX} not present")
    def test_data_file_is_what_the_generator_writes(self, tmp_path: Path) -> None:
        """catalogue_data.py cannot drift from spec/INDEX.md."""
        output = tmp_path / "catalogue_data.py"
        subprocess.run(
            [sys.executable, str(GENERATOR), str(SPEC_INDEX.parent), "--output", str(output)],
            check=True,
            capture_output=True,
            text=True,
        )
        assert output.read_bytes() == DATA_FILE.read_bytes()

    def test_generator_rejects_a_missing_index(self, tmp_path: Path) -> None:
        result = subprocess.run(
            [sys.executable, str(GENERATOR), str(tmp_path), "--output", str(tmp_path / "x.py")],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 1
        assert "cannot read" in result.stderr
        assert not (tmp_path / "x.py").exists()


class TestCounts:
    def test_rows(self) -> None:
        # 111 CoNDIS rows, 33 supporting rows, plus one for the SET_OPTIONS split.
        assert len(ROWS) == 111 + 33 + 1
        assert len(CATALOGUE) == len(ROWS)
        assert len(entries(condis=True)) == 111
        assert len(entries(condis=False)) == 33 + 1

    def test_per_kind_matches_index_totals(self) -> None:
        condis_kinds = {kind: len(entries(kind=kind, condis=True)) for kind in DdiKind}
        assert condis_kinds == {
            DdiKind.FUNCTION: 49,
            DdiKind.MACRO: 16,
            DdiKind.CALLBACK: 42,
            DdiKind.STRUCTURE: 4,
        }
        supporting_kinds = {kind: len(entries(kind=kind, condis=False)) for kind in DdiKind}
        assert supporting_kinds == {
            DdiKind.FUNCTION: 17,
            DdiKind.MACRO: 4,
            DdiKind.CALLBACK: 7 + 1,
            DdiKind.STRUCTURE: 5,
        }

    def test_order_is_index_order(self) -> None:
        names = list(CATALOGUE)
        assert names[0] == "NdisClCloseAddressFamily"
        assert names[-1] == "NDIS_OBJECT_HEADER"
        assert names == [row[0] for row in ROWS]


class TestEntries:
    def test_mcm_register_address_family(self) -> None:
        e = entry("NdisMCmRegisterAddressFamilyEx")
        assert e.kind is DdiKind.FUNCTION
        assert e.type_name is None
        assert e.irql == IrqlRequirement(
            relation="==", level=KIRQL.PASSIVE_LEVEL, text="PASSIVE_LEVEL"
        )
        assert e.rules == ("Irql_MCM_Function",)
        assert e.primary_rule == "Irql_MCM_Function"
        assert e.area == "registration/address family"
        assert e.role == "MCM"
        assert e.min_ndis == "6.0"
        assert e.page == "ddi/nf-ndis-ndismcmregisteraddressfamilyex.md"
        assert e.condis is True
        assert not e.is_handler

    def test_mcm_close_address_family_complete(self) -> None:
        e = entry("NdisMCmCloseAddressFamilyComplete")
        assert e.kind is DdiKind.MACRO
        assert e.irql is not None
        assert (e.irql.relation, e.irql.level) == ("<=", KIRQL.DISPATCH_LEVEL)
        assert e.min_ndis == "5.1"

    def test_protocol_cm_open_af(self) -> None:
        e = entry("ProtocolCmOpenAf")
        assert e.kind is DdiKind.CALLBACK
        assert e.is_handler
        assert e.type_name == "PROTOCOL_CM_OPEN_AF"
        assert e.role == "NDIS -> call manager / MCM"
        assert e.irql is not None
        assert (e.irql.relation, e.irql.level) == ("<=", KIRQL.DISPATCH_LEVEL)
        assert e.rules == ()
        assert e.primary_rule is None

    def test_set_options_split(self) -> None:
        miniport = entry("MiniportSetOptions")
        protocol = entry("ProtocolSetOptions")
        assert (miniport.type_name, protocol.type_name) == ("SET_OPTIONS", "SET_OPTIONS")
        assert (miniport.role, protocol.role) == ("NDIS -> miniport", "NDIS -> protocol")
        assert miniport.page == protocol.page == "ddi/nc-ndis-set_options.md"
        assert "XxxSetOptions" not in CATALOGUE

    def test_structure_has_no_irql(self) -> None:
        e = entry("NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS")
        assert e.kind is DdiKind.STRUCTURE
        assert e.irql is None

    def test_primary_rule_prefers_irql_rule(self) -> None:
        assert entry("NdisAcquireSpinLock").primary_rule == "Irql_Synch_Function"
        assert entry("NdisAllocateIoWorkItem").primary_rule == "Irql_Miscellaneous_Function"
        assert entry("NdisAllocateSpinLock").primary_rule == "SpinLockDpr"

    def test_cancel_timer_object_see_remarks(self) -> None:
        irql = entry("NdisCancelTimerObject").irql
        assert irql == IrqlRequirement(
            relation="<=", level=KIRQL.DISPATCH_LEVEL, text="See Remarks section"
        )

    def test_every_callback_has_a_type_and_only_callbacks_do(self) -> None:
        for e in CATALOGUE.values():
            assert (e.type_name is not None) == e.is_handler, e.name
            assert (e.irql is None) == (e.kind is DdiKind.STRUCTURE), e.name

    def test_catalogue_is_read_only(self) -> None:
        with pytest.raises(TypeError):
            CATALOGUE["x"] = entry("NdisClMakeCall")  # type: ignore[index]

    def test_unknown_name(self) -> None:
        with pytest.raises(KeyError, match=r"^unknown DDI 'Nope': not in spec/INDEX\.md$"):
            entry("Nope")
        with pytest.raises(UnknownDdiError):
            entry("PROTOCOL_CM_OPEN_AF")

    def test_filters_combine(self) -> None:
        mcm_af = entries(kind=DdiKind.MACRO, area="registration/address family", condis=True)
        assert [e.name for e in mcm_af] == [
            "NdisMCmCloseAddressFamilyComplete",
            "NdisMCmNotifyCloseAddressFamily",
            "NdisMCmOpenAddressFamilyComplete",
        ]
        assert len(entries(area="SAP")) == 10
        assert len(entries()) == len(CATALOGUE)

    def test_unknown_area(self) -> None:
        with pytest.raises(ValueError, match=r"^unknown area 'Sap'; INDEX\.md areas: .*SAP"):
            entries(area="Sap")


class TestIrqlRequirement:
    @pytest.mark.parametrize(
        ("text", "relation", "level"),
        [
            ("PASSIVE_LEVEL", "==", KIRQL.PASSIVE_LEVEL),
            ("DISPATCH_LEVEL", "==", KIRQL.DISPATCH_LEVEL),
            ("<= DISPATCH_LEVEL", "<=", KIRQL.DISPATCH_LEVEL),
            ("<= DISPATCH_LEVEL (see Remarks section)", "<=", KIRQL.DISPATCH_LEVEL),
            ("Any level (see Remarks section)", "any", None),
            ("See Remarks section", "<=", KIRQL.DISPATCH_LEVEL),
        ],
    )
    def test_parse(self, text: str, relation: str, level: KIRQL | None) -> None:
        parsed = IrqlRequirement.parse(text)
        assert parsed is not None
        assert (parsed.relation, parsed.level, parsed.text) == (relation, level, text)

    def test_parse_empty(self) -> None:
        assert IrqlRequirement.parse("") is None

    @pytest.mark.parametrize("text", ["APC_LEVEL or lower", "<= DIRQL_LEVEL", "passive_level"])
    def test_parse_unknown(self, text: str) -> None:
        with pytest.raises(ValueError, match=rf"^unknown IRQL requirement '{re.escape(text)}'$"):
            IrqlRequirement.parse(text)

    def test_allows_equal(self) -> None:
        req = IrqlRequirement(relation="==", level=KIRQL.DISPATCH_LEVEL, text="DISPATCH_LEVEL")
        assert [req.allows(irql) for irql in LEVELS] == [False, False, True, False]

    def test_allows_at_most(self) -> None:
        req = IrqlRequirement(relation="<=", level=KIRQL.APC_LEVEL, text="<= APC_LEVEL")
        assert [req.allows(irql) for irql in LEVELS] == [True, True, False, False]

    def test_allows_any(self) -> None:
        req = IrqlRequirement(relation="any", level=None, text="Any level")
        assert all(req.allows(irql) for irql in LEVELS)

    def test_level_must_match_relation(self) -> None:
        with pytest.raises(ValueError, match=r"^IRQL relation 'any' takes no level$"):
            IrqlRequirement(relation="any", level=KIRQL.PASSIVE_LEVEL, text="x")
        with pytest.raises(ValueError, match=r"^IRQL relation '<=' needs a level$"):
            IrqlRequirement(relation="<=", level=None, text="x")

    def test_str(self) -> None:
        assert str(entry("NdisClOpenAddressFamilyEx").irql) == "IRQL == PASSIVE_LEVEL"
        assert str(entry("NdisFreeSpinLock").irql) == "any IRQL"
