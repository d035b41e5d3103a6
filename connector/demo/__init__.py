"""`connector demo`: a generated bonded warehouse (WMS, mapping, customs InBox) run through every stage.

The entry point is `connector.demo.run.run_demo`. The other modules: `catalog` (the firm, its
ledger and items), `scenario` (the month of WMS documents and the anomalies planted in it),
`warehouse` (the SQLite WMS and the item mapping), `customs`, `receipts` and `inbox` (核注清单,
ledger postings and passports as customs receipt files), `receiver` (the local HTTP endpoint)
and `report` (what is printed).
"""
