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
