"""The record lists: MITDB with the de Chazal (2004) inter-patient split, and the SVDB
records that join DS1 in the development set; each database's sampling rate; the CinC 2017
strips the strip AF call learns from."""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from typing import TYPE_CHECKING

from arrhythmia.errors import ArrhythmiaError

if TYPE_CHECKING:
    from arrhythmia.config import RecordSubsetParams

MITDB_FS = 360  # Hz, every record; the beat dataset and the model work at this rate
SVDB_FS = 128  # Hz; SVDB records are resampled to MITDB_FS for the beat dataset

ALL_RECORDS: tuple[str, ...] = (
    "100",
    "101",
    "102",
    "103",
    "104",
    "105",
    "106",
    "107",
    "108",
    "109",
    "111",
    "112",
    "113",
    "114",
    "115",
    "116",
    "117",
    "118",
    "119",
    "121",
    "122",
    "123",
    "124",
    "200",
    "201",
    "202",
    "203",
    "205",
    "207",
    "208",
    "209",
    "210",
    "212",
    "213",
    "214",
    "215",
    "217",
    "219",
    "220",
    "221",
    "222",
    "223",
    "228",
    "230",
    "231",
    "232",
    "233",
    "234",
)

# Paced records: excluded from the AAMI inter-patient protocol.
PACED_RECORDS: frozenset[str] = frozenset({"102", "104", "107", "217"})

DS1: tuple[str, ...] = (
    "101",
    "106",
    "108",
    "109",
    "112",
    "114",
    "115",
    "116",
    "118",
    "119",
    "122",
    "124",
    "201",
    "203",
    "205",
    "207",
    "208",
    "209",
    "215",
    "220",
    "223",
    "230",
)
DS2: tuple[str, ...] = (
    "100",
    "103",
    "105",
    "111",
    "113",
    "117",
    "121",
    "123",
    "200",
    "202",
    "210",
    "212",
    "213",
    "214",
    "219",
    "221",
    "222",
    "228",
    "231",
    "232",
    "233",
    "234",
)

# The even-numbered records of the MIT-BIH Supraventricular Arrhythmia Database (40 of its
# 78; one patient each): development data beside DS1, never a test set.
SVDB: tuple[str, ...] = (
    "800",
    "802",
    "804",
    "806",
    "808",
    "810",
    "812",
    "820",
    "822",
    "824",
    "826",
    "828",
    "840",
    "842",
    "844",
    "846",
    "848",
    "850",
    "852",
    "854",
    "856",
    "858",
    "860",
    "862",
    "864",
    "866",
    "868",
    "870",
    "872",
    "874",
    "876",
    "878",
    "880",
    "882",
    "884",
    "886",
    "888",
    "890",
    "892",
    "894",
)

# Rhythm development data (never a test set): the 11 records of the MIT-BIH Malignant
# Ventricular Ectopy Database (of its 22; 2 leads, rhythm annotations only) and the 18
# odd-numbered ones of the Creighton University Ventricular Tachyarrhythmia Database (of
# its 35; 1 lead) that ../shared/data holds. The others judge what is learnt here.
VFDB: tuple[str, ...] = (
    "418",
    "420",
    "422",
    "424",
    "426",
    "428",
    "430",
    "605",
    "609",
    "611",
    "614",
)
CUDB: tuple[str, ...] = tuple(f"cu{n:02d}" for n in range(1, 36, 2))
VFDB_FS = CUDB_FS = 250  # Hz

# Each split of the beat dataset is one group of patients: DS2 is the test set, the
# others make the development set (params.yaml train.training_sets picks among them).
SPLITS: dict[str, tuple[str, ...]] = {"DS1": DS1, "DS2": DS2, "SVDB": SVDB}
TEST_SPLIT = "DS2"

RECORD_FILE_SUFFIXES: tuple[str, ...] = (".hea", ".dat", ".atr")


def split_of(record: str) -> str:
    """The split ('DS1', 'DS2' or 'SVDB') a non-paced record belongs to."""
    for name, records in SPLITS.items():
        if record in records:
            return name
    raise KeyError(f"record {record} is in none of {', '.join(SPLITS)} (paced or unknown)")


def record_files(records: tuple[str, ...] | list[str] = ALL_RECORDS) -> list[str]:
    """File names that make up the given records, in a stable order."""
    return [f"{r}{suffix}" for r in records for suffix in RECORD_FILE_SUFFIXES]


# CinC 2017: short single-lead strips for the learnt strip AF call (2 842 of the challenge's
# 8 528 training recordings, those numbered by 3), with the challenge's final labels.
CINC2017_FS = 300  # Hz
CINC2017_LABELS = ("N", "A", "O", "~")  # normal, AF, other rhythm, too noisy
CINC2017_SUFFIXES = (".hea", ".mat")


def cinc2017_reference() -> dict[str, str]:
    """Strip name -> label, as the package lists them (the records ingest fetches)."""
    text = importlib.resources.files("arrhythmia.data").joinpath("cinc2017_reference.csv")
    rows = (line.split(",") for line in text.read_text().splitlines() if line.strip())
    return {name.strip(): label.strip() for name, label in rows}


def cinc2017_files(names: list[str] | None = None) -> list[str]:
    names = list(cinc2017_reference()) if names is None else names
    return [f"{name}{suffix}" for name in names for suffix in CINC2017_SUFFIXES]


class RecordSelectionError(ArrhythmiaError, ValueError):
    """params.yaml's data.subset names a record outside its list, or an empty list."""


@dataclass(frozen=True)
class RecordSelection:
    """The records a pipeline run uses: every list whole (the protocol), or a few records of
    each list for a smoke run (the slow tests run every stage on a handful)."""

    ds1: tuple[str, ...] = DS1
    ds2: tuple[str, ...] = DS2
    svdb: tuple[str, ...] = SVDB
    cinc2017: tuple[str, ...] | None = None  # strip names; None: every strip the package lists
    vfdb: tuple[str, ...] = VFDB
    cudb: tuple[str, ...] = CUDB

    def __post_init__(self):
        known = {**SPLITS, "CinC 2017": tuple(cinc2017_reference()), "VFDB": VFDB, "CUDB": CUDB}
        strips = known["CinC 2017"] if self.cinc2017 is None else self.cinc2017
        chosen_lists = {**self.splits, "CinC 2017": strips, "VFDB": self.vfdb, "CUDB": self.cudb}
        for name, chosen in chosen_lists.items():
            outside = sorted(set(chosen) - set(known[name]))
            twice = sorted({r for r in chosen if chosen.count(r) > 1})
            if not chosen or outside or twice:
                what = (
                    f"{', '.join(outside[:3])} not in" if outside
                    else f"{', '.join(twice[:3])} twice in" if twice
                    else "no record of"
                )  # fmt: skip
                raise RecordSelectionError(f"data.subset: {what} {name}")

    @classmethod
    def from_params(cls, subset: RecordSubsetParams | None) -> RecordSelection:
        """From params.yaml's data.subset (null: every record)."""
        if subset is None:
            return cls()
        return cls(
            tuple(subset.ds1),
            tuple(subset.ds2),
            tuple(subset.svdb),
            tuple(subset.cinc2017),
            tuple(subset.vfdb),
            tuple(subset.cudb),
        )

    @property
    def splits(self) -> dict[str, tuple[str, ...]]:
        return {"DS1": self.ds1, "DS2": self.ds2, "SVDB": self.svdb}

    @property
    def mitdb(self) -> tuple[str, ...]:
        """The MITDB records to fetch: all 48 (the paced ones too, for the detection
        benchmarks) when DS1 and DS2 are whole, else the chosen ones in MITDB's order."""
        if (self.ds1, self.ds2) == (DS1, DS2):
            return ALL_RECORDS
        return tuple(r for r in ALL_RECORDS if r in self.ds1 + self.ds2)

    def cinc2017_labels(self) -> dict[str, str]:
        """Strip name -> label of the chosen strips, in the package's order."""
        labels = cinc2017_reference()
        chosen = labels if self.cinc2017 is None else set(self.cinc2017)
        return {name: label for name, label in labels.items() if name in chosen}

    def cinc2017_files(self) -> list[str]:
        return cinc2017_files(list(self.cinc2017_labels()))
