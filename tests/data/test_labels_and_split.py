import pytest

from arrhythmia.data.aami import AAMI_CLASSES, SYMBOL_TO_AAMI, aami_class, class_index
from arrhythmia.data.records import ALL_RECORDS, DS1, DS2, PACED_RECORDS, record_files, split_of


@pytest.mark.parametrize(
    "symbols, expected",
    [("NLRej", "N"), ("AaJS", "S"), ("VE", "V"), ("F", "F"), ("/fQ", "Q")],
)
def test_aami_mapping(symbols, expected):
    assert {aami_class(s) for s in symbols} == {expected}


def test_non_beat_annotations_have_no_class():
    for symbol in ["+", "~", "|", "x", "!", '"', "[", "]"]:
        assert aami_class(symbol) is None
    assert len(SYMBOL_TO_AAMI) == 15


def test_class_index_follows_class_order():
    assert class_index(list(AAMI_CLASSES)).tolist() == [0, 1, 2, 3, 4]


def test_de_chazal_split():
    assert len(DS1) == len(DS2) == 22
    assert not set(DS1) & set(DS2)
    assert not (set(DS1) | set(DS2)) & PACED_RECORDS
    assert set(DS1) | set(DS2) | PACED_RECORDS == set(ALL_RECORDS)
    assert len(ALL_RECORDS) == 48
    assert split_of("101") == "DS1" and split_of("100") == "DS2"
    with pytest.raises(KeyError, match="paced"):
        split_of("102")


def test_record_files():
    assert record_files(("100",)) == ["100.hea", "100.dat", "100.atr"]
    assert len(record_files()) == 144


def test_svdb_records_are_a_split_of_their_own_patients():
    from arrhythmia.data.records import SPLITS, SVDB, TEST_SPLIT

    assert len(SVDB) == len(set(SVDB)) == 40
    assert not set(SVDB) & set(ALL_RECORDS)  # record names never collide with MITDB's
    assert split_of("822") == "SVDB"
    assert TEST_SPLIT == "DS2" and set(SPLITS) == {"DS1", "DS2", "SVDB"}


def test_the_record_selection_is_every_list_unless_a_smoke_subset_names_fewer():
    from arrhythmia.config import load_raw_params, params_from_dict
    from arrhythmia.data.records import SVDB, RecordSelection, cinc2017_reference
    from tests.conftest import ROOT

    whole = RecordSelection.from_params(None)
    assert (whole.ds1, whole.ds2, whole.svdb) == (DS1, DS2, SVDB)
    assert whole.mitdb == ALL_RECORDS  # the paced records are fetched for the benchmarks
    assert whole.cinc2017_labels() == cinc2017_reference()

    raw = load_raw_params(ROOT / "params.yaml")
    assert raw["data"]["subset"] is None  # the shipped pipeline runs the protocol
    raw["data"]["subset"] = {"ds1": ["208", "101"], "ds2": ["100"], "svdb": ["822"],
                             "cinc2017": ["A00009", "A00003"], "vfdb": ["611"],
                             "cudb": ["cu01", "cu03"]}  # fmt: skip
    smoke = RecordSelection.from_params(params_from_dict(raw).data.subset)
    assert smoke.mitdb == ("100", "101", "208") and smoke.ds1 == ("208", "101")
    assert smoke.svdb == ("822",) and (smoke.vfdb, smoke.cudb) == (("611",), ("cu01", "cu03"))
    assert smoke.cinc2017_labels() == {"A00003": "N", "A00009": "A"}


@pytest.mark.parametrize(
    ("subset", "says"),
    [
        ({"ds2": ("119",)}, "119 not in DS2"),
        ({"ds1": ("104",)}, "104 not in DS1"),  # paced: in no list
        ({"svdb": ()}, "no record of SVDB"),
        ({"cinc2017": ("B00001",)}, "B00001 not in CinC 2017"),
        ({"cinc2017": ()}, "no record of CinC 2017"),
        ({"vfdb": ("cu01",)}, "cu01 not in VFDB"),
        ({"cudb": ("cu02",)}, "cu02 not in CUDB"),  # even: not among the development records
        ({"ds1": ("101", "119", "101")}, "101 twice in DS1"),
    ],
)
def test_a_subset_outside_its_lists_is_refused_in_one_line(subset, says):
    from arrhythmia.data.records import RecordSelection, RecordSelectionError

    with pytest.raises(RecordSelectionError, match=says):
        RecordSelection(**subset)


def test_a_malformed_subset_says_what_is_wrong_in_it(raw_params):
    from arrhythmia.config import ConfigError, params_from_dict

    raw_params["data"]["subset"] = {"ds1": [101], "ds2": ["100"], "svdb": ["822"], "cinc2017": [],
                                    "vfdb": ["611"], "cudb": ["cu01"]}  # fmt: skip
    with pytest.raises(ConfigError, match=r"data\.subset\.ds1\[0\]: expected str, got 101"):
        params_from_dict(raw_params)
    raw_params["data"]["subset"] = {"ds1": ["101"]}
    with pytest.raises(ConfigError, match="data.subset: missing key"):
        params_from_dict(raw_params)
