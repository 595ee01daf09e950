"""Great Expectations suites for raw records and the beat dataset."""
