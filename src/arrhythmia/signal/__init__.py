"""Signal processing: filters, normalisation, beat windows, RR features."""
