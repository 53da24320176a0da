"""Detectors: one subpackage per kind (dga, lotl, url, beacon), all following `base.Detector`."""
