"""MITDB records: download or mirror, WFDB reading, AAMI labels and the inter-patient split."""
