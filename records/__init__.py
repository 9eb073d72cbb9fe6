"""The system of record: roster, roles, evaluations, action programmes, rotations, summaries."""
